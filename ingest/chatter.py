"""Social-post templates, article-body sentences and long-article paragraphs.

Same placeholders as ``ingest.headlines``; ``{headline}`` is a rendered headline.
"""

from __future__ import annotations

from ingest.headlines import Templates

POSTS: Templates = {
    "positive": (
        "{sub} looking strong into earnings, adding more 🚀",
        "Loaded up on {sub} calls this morning. Let's go",
        "{sub} breaking out on volume. This is the move",
        "Long {sub}. Best risk/reward on my watchlist",
        "Fed is done hiking. Bulls in control 📈",
        "Bought the dip, feeling good about it",
        "Green day across the board, love to see it",
    ),
    "neutral": (
        "Anyone watching {sub} today?",
        "Holding {sub} through earnings, no changes",
        "{sub} chopping sideways, waiting for a setup",
        "What's everyone's take on {sub} here?",
        "CPI tomorrow. Sitting on my hands until then",
        "Quiet tape today. Reading 10-Ks instead",
        "Rebalanced the portfolio, same allocations as last quarter",
    ),
    "negative": (
        "{sub} is going to get crushed, puts loaded",
        "Sold all my {sub}. Guidance was a joke",
        "{sub} chart breaking down hard 📉",
        "Done with {sub}. Management keeps overpromising",
        "This market feels like 2008 all over again",
        "Yields ripping higher, nothing is safe",
        "Red everywhere. Margin calls incoming",
    ),
}

SHARES: tuple[str, ...] = (
    "{headline}",
    "{headline} 👀",
    "BREAKING: {headline}",
    "{headline}. Thoughts?",
    "Not surprised. {headline}",
    "{headline} — wow",
)

BODY: Templates = {
    "positive": (
        "Shares rose {pct} in premarket trading after the announcement.",
        "Analysts said the results point to durable demand through next year.",
        "Management raised its outlook, citing strong orders and better pricing.",
        "The move was welcomed by investors who had worried about slowing growth.",
    ),
    "neutral": (
        "The company did not comment beyond its statement.",
        "Results are due after the close on Thursday.",
        "Analysts polled ahead of the release had expected little change.",
        "The figures were broadly in line with forecasts.",
        "Trading volume was close to its 30-day average.",
    ),
    "negative": (
        "Shares fell {pct} in premarket trading after the announcement.",
        "Analysts warned that margins could come under further pressure.",
        "The company cut its outlook, citing weaker demand and higher costs.",
        "Several investors said the update raised questions about strategy.",
    ),
}

LONG_PARAGRAPHS: tuple[str, ...] = (
    "Investors have spent much of the year trying to judge how far interest rates will fall and "
    "how quickly. The {cb} has kept its options open, and every data release now moves prices "
    "more than it would in calmer times. Against that backdrop, company guidance matters more "
    "than ever, because it tells markets whether demand is holding up.",
    "Revenue for the quarter came in at {rev}, with earnings per share of {eps}. Gross margin "
    "was broadly stable, though operating costs rose as the company kept hiring engineers and "
    "building out capacity. Free cash flow was positive, and the balance sheet ended the period "
    "with more cash than debt.",
    "Analysts at {bank} said in a note to clients that the results were 'a clean print' but "
    "cautioned that expectations for the second half were demanding. They kept a price target "
    "of {pt}, noting that the shares already trade at a premium to peers on forward earnings.",
    "Elsewhere in markets, the {index} moved {pct} while the 10-year Treasury yield hovered "
    "around {yld}. {crude} traded near {oil} a barrel and {metal} held close to recent "
    "levels. Currency markets were calm, with {fx} inside its range for the week.",
    "Management said it expects supply constraints to ease over the coming quarters and that "
    "pricing remains firm. Executives declined to give a detailed forecast for next year, "
    "saying only that they see 'a long runway' for the business.",
    "The announcement follows months of speculation about the company's plans. People familiar "
    "with the matter said the board had weighed several options before settling on the current "
    "approach, which it believes will deliver better returns for shareholders over time.",
    "Not everyone is convinced. Some fund managers point out that the sector has a history of "
    "boom-and-bust cycles and that competitors are investing heavily. Regulators in the US and "
    "Europe are also paying closer attention, which could slow deals and raise compliance costs.",
    "Retail investors have piled into the stock on social media, where mentions have climbed "
    "sharply this month. Options volumes have risen too, with call buying outpacing puts by a "
    "wide margin, a sign that many traders are positioned for further gains.",
    "The broader economy continues to send mixed signals. Hiring has slowed but remains "
    "positive, consumer spending is holding up, and inflation is drifting lower. Economists "
    "surveyed this month put the odds of a recession in the next year at roughly one in three.",
    "Looking ahead, investors will watch the next earnings report, due in {q}, for signs that "
    "the momentum can last. Any change in guidance, capital spending plans or the pace of "
    "buybacks is likely to move the shares.",
)
