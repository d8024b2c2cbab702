"""Headline templates by topic and sentiment, written like finance-news tweets.

Placeholders: ``{sub}`` is the company as the feed chose to show it (name, cashtag or both);
``{co}`` / ``{other}`` are company names; the rest are filled from ``ingest.universe`` and
random figures (see ``ingest.content``). A template without a company placeholder names no
ticker.
"""

from __future__ import annotations

Templates = dict[str, tuple[str, ...]]

HEADLINES: dict[str, Templates] = {
    "Analyst Update": {
        "positive": (
            "{bank} upgrades {sub} to buy, sees {bigpct} upside",
            "{sub} price target raised to {pt} at {bank}",
            "{bank} initiates {sub} at outperform, calls it a top pick for 2025",
        ),
        "neutral": (
            "{bank} reiterates neutral on {sub}, target {pt}",
            "{sub}: {bank} keeps equal-weight rating ahead of {q} results",
            "{bank} adjusts {sub} price target to {pt}",
        ),
        "negative": (
            "{bank} downgrades {sub} to underperform on valuation",
            "{sub} price target cut to {pt} at {bank}",
            "{bank} turns bearish on {sub}, warns estimates are too high",
        ),
    },
    "Fed | Central Banks": {
        "positive": (
            "{cb} signals rate cuts could come sooner than expected",
            "{cb} holds rates steady and says inflation is cooling",
            "Fed officials see room to ease as price pressures fade",
        ),
        "neutral": (
            "{cb} leaves policy rate unchanged, as expected",
            "Fed minutes show officials split on timing of next move",
            "{cb} chief to speak at Jackson Hole on Friday",
        ),
        "negative": (
            "{cb} hikes by {bp}, warns more tightening may be needed",
            "Fed's hawks push back on rate-cut bets as inflation sticks",
            "{cb} surprises markets with hawkish tilt",
        ),
    },
    "Company | Product News": {
        "positive": (
            "{sub} unveils new {product}, early reviews are glowing",
            "{sub} wins multibillion-dollar contract with the Pentagon",
            "{sub} says demand for its {product} is outstripping supply",
        ),
        "neutral": (
            "{sub} to hold product event next month",
            "{sub} opens new headquarters in Austin",
            "{sub} updates its {product} lineup",
        ),
        "negative": (
            "{sub} recalls {product} over safety concerns",
            "{sub} delays launch of its {product} to next year",
            "{sub} hit by outage affecting millions of users",
        ),
    },
    "Treasuries | Corporate Debt": {
        "positive": (
            "Treasuries rally as 10-year yield falls to {yld}",
            "{sub} draws record orders for its bond sale",
            "Moody's upgrades {sub} credit rating to A",
        ),
        "neutral": (
            "10-year Treasury yield steady at {yld} ahead of auction",
            "{sub} prices {amt} bond offering",
            "Treasury to sell {amt} in 2-year notes this week",
        ),
        "negative": (
            "Treasuries slide, pushing 10-year yield to {yld}",
            "S&P cuts {sub} to junk, citing heavy debt load",
            "Weak demand at 30-year auction sends yields higher",
        ),
    },
    "Dividend": {
        "positive": (
            "{sub} raises quarterly dividend by {pct}",
            "{sub} hikes dividend and adds {amt} buyback",
            "{sub} declares special dividend of {div} per share",
        ),
        "neutral": (
            "{sub} declares quarterly dividend of {div} per share",
            "{sub} maintains dividend at {div}",
            "{sub} sets record date for {q} dividend",
        ),
        "negative": (
            "{sub} cuts dividend by {bigpct} to preserve cash",
            "{sub} suspends dividend as losses mount",
            "{sub} freezes payout, shares slip",
        ),
    },
    "Earnings": {
        "positive": (
            "{sub} beats {q} estimates with EPS of {eps}, raises full-year outlook",
            "{sub} posts record revenue of {rev}, tops expectations",
            "{sub} {q} earnings crush forecasts on strong demand",
        ),
        "neutral": (
            "{sub} {q} EPS {eps} in line with estimates",
            "{sub} to report {q} earnings after the bell Tuesday",
            "{sub} reports {q} revenue of {rev}, matching consensus",
        ),
        "negative": (
            "{sub} misses {q} estimates, cuts guidance",
            "{sub} {q} revenue of {rev} falls short as margins shrink",
            "{sub} swings to loss in {q}, withdraws outlook",
        ),
    },
    "Energy | Oil": {
        "positive": (
            "{crude} jumps {pct} as OPEC+ extends output cuts",
            "{sub} boosts production target, shares climb",
            "{sub} profit beats as refining margins widen",
        ),
        "neutral": (
            "{crude} little changed at {oil} a barrel ahead of inventory data",
            "OPEC+ to meet Sunday to discuss output policy",
            "{sub} to sell stake in North Sea fields",
        ),
        "negative": (
            "{crude} slumps {pct} on demand worries",
            "{sub} takes {amt} writedown on refinery closures",
            "US crude stockpiles swell, pressuring prices",
        ),
    },
    "Financials": {
        "positive": (
            "{sub} trading revenue surges {bigpct}, beats estimates",
            "{sub} passes stress test with room to spare",
            "{sub} lifts net interest income forecast",
        ),
        "neutral": (
            "{sub} to present at industry conference next week",
            "Bank lending data due Thursday",
            "{sub} completes {amt} capital raise",
        ),
        "negative": (
            "{sub} sets aside {amt} for loan losses",
            "Regional bank shares tumble as deposit worries return",
            "{sub} cuts net interest income outlook",
        ),
    },
    "Currencies": {
        "positive": (
            "{ccy} rallies to a three-month high",
            "{fx} rebounds as risk appetite returns",
            "Emerging-market currencies gain as dollar eases",
        ),
        "neutral": (
            "{fx} trades in tight range ahead of jobs report",
            "{ccy} steady as traders await central bank decision",
            "FX options show muted volatility in {fx}",
        ),
        "negative": (
            "{ccy} slides to weakest level in decades",
            "{fx} tumbles after surprise policy shift",
            "Intervention fears grow as {ccy} plunges",
        ),
    },
    "General News | Opinion": {
        "positive": (
            "Opinion: the soft landing is here, and investors should enjoy it",
            "Why {sub} could be the best stock of the decade",
            "Consumers keep spending, and that is good news for everyone",
        ),
        "neutral": (
            "What to watch in markets this week",
            "Five things to know before the open",
            "A look at {sub} ahead of its investor day",
        ),
        "negative": (
            "Opinion: the market is ignoring a recession warning",
            "Why {sub} looks like a value trap",
            "Investors are too complacent about debt levels",
        ),
    },
    "Gold | Metals | Materials": {
        "positive": (
            "{metal} hits record high as investors seek safety",
            "{metal} climbs {pct} on supply disruptions",
            "{sub} benefits as metal prices rally",
        ),
        "neutral": (
            "Gold steady at {gold} an ounce",
            "{metal} little changed as traders eye Fed",
            "Mining output data due this week",
        ),
        "negative": (
            "{metal} drops {pct} as dollar strengthens",
            "{metal} posts worst week since 2022",
            "Weak China demand weighs on {metal}",
        ),
    },
    "IPO": {
        "positive": (
            "{ipo} soars {bigpct} in trading debut",
            "{ipo} prices IPO above range, raising {amt}",
            "{ipo} IPO oversubscribed several times over",
        ),
        "neutral": (
            "{ipo} files for US IPO",
            "{ipo} sets terms for IPO, seeks up to {amt}",
            "IPO calendar: {ipo} expected to price this week",
        ),
        "negative": (
            "{ipo} slumps {bigpct} in disappointing debut",
            "{ipo} postpones IPO citing market volatility",
            "{ipo} prices IPO below range",
        ),
    },
    "Legal | Regulation": {
        "positive": (
            "{sub} wins appeal in patent case",
            "Regulators clear {sub} {product} for sale",
            "{sub} settles antitrust suit for less than feared",
        ),
        "neutral": (
            "{sub} faces hearing in EU competition case next month",
            "SEC proposes new disclosure rules for funds",
            "Court schedules trial date in {sub} lawsuit",
        ),
        "negative": (
            "DOJ opens probe into {sub} business practices",
            "{sub} fined {amt} by EU regulators",
            "{sub} sued by shareholders over disclosures",
        ),
    },
    "M&A | Investments": {
        "positive": (
            "{sub} to acquire {other} for {amt}, shares jump",
            "{sub} takes {pct} stake in {other}",
            "{sub} receives takeover interest, shares surge",
        ),
        "neutral": (
            "{sub} explores sale of media unit",
            "{sub} and {other} in early merger talks, sources say",
            "{sub} completes acquisition of startup",
        ),
        "negative": (
            "{sub} deal for {other} collapses amid regulatory pushback",
            "{sub} writes down {amt} on failed acquisition",
            "Regulators move to block {sub} takeover",
        ),
    },
    "Macro": {
        "positive": (
            "US CPI rises less than expected, core inflation cools to {pct}",
            "Payrolls beat forecasts as labor market stays strong",
            "{country} GDP growth accelerates in {q}",
        ),
        "neutral": (
            "US CPI data due Wednesday; economists expect {pct} gain",
            "Jobless claims little changed last week",
            "{country} retail sales flat in line with forecast",
        ),
        "negative": (
            "US inflation unexpectedly accelerates to {pct}",
            "{country} slips into recession as output contracts",
            "Consumer confidence falls to lowest since 2020",
        ),
    },
    "Markets": {
        "positive": (
            "{index} closes at record high led by tech",
            "Stocks rally as yields fall; {index} up {pct}",
            "Global equities rebound on rate-cut hopes",
        ),
        "neutral": (
            "{index} futures flat ahead of data",
            "Stocks open mixed as investors weigh earnings",
            "{index} ends little changed in quiet trading",
        ),
        "negative": (
            "{index} tumbles {pct} in broad selloff",
            "Stocks slide as bond yields spike; VIX jumps",
            "Global markets sink on growth fears",
        ),
    },
    "Politics": {
        "positive": (
            "Congress reaches deal to avert government shutdown",
            "US and {country} agree to ease trade tensions",
            "Lawmakers pass infrastructure bill, boosting builders",
        ),
        "neutral": (
            "Senate to vote on spending bill next week",
            "Election polls tighten in key states",
            "Trade delegation from {country} arrives in Washington",
        ),
        "negative": (
            "US slaps new tariffs on imports from {country}",
            "Debt-ceiling standoff rattles markets",
            "New export curbs threaten chipmakers",
        ),
    },
    "Personnel Change": {
        "positive": (
            "{sub} names {person} as {role}, investors cheer",
            "{sub} hires veteran {person} to lead turnaround",
            "Activist-backed {person} joins {co} board",
        ),
        "neutral": (
            "{sub} appoints {person} as {role}",
            "{sub} announces {role} succession plan",
            "{co} {role} {person} to retire at year end",
        ),
        "negative": (
            "{sub} {role} resigns abruptly",
            "{sub} ousts {role} after internal probe",
            "Key executives leave {co} amid turmoil",
        ),
    },
    "Stock Commentary": {
        "positive": (
            "{sub} looks set to break out; momentum building",
            "Buy the dip in {sub}? Fundamentals still strong",
            "{sub} is one of the cheapest megacaps right now",
        ),
        "neutral": (
            "{sub} options activity picks up ahead of earnings",
            "Is {sub} a buy at these levels? Analysts are divided",
            "{sub} trades near its 200-day moving average",
        ),
        "negative": (
            "{sub} chart looks ugly; support broken",
            "Short sellers pile into {sub}",
            "{sub} valuation is stretched, warns fund manager",
        ),
    },
    "Stock Movement": {
        "positive": (
            "{sub} shares jump {pct} premarket",
            "{sub} stock hits all-time high",
            "{sub} rallies {bigpct} after upbeat forecast",
        ),
        "neutral": (
            "{sub} shares flat in early trading",
            "{sub} stock little changed after the open",
            "{sub} trading volume above average",
        ),
        "negative": (
            "{sub} shares fall {pct} in early trading",
            "{sub} stock plunges {bigpct} to 52-week low",
            "{sub} slides after-hours on weak outlook",
        ),
    },
}

TOPIC_SECTORS: dict[str, str] = {"Financials": "financials", "Energy | Oil": "energy"}

BURST_HEADLINES: Templates = {
    "negative": (
        "{co} shares plunge after new export curbs",
        "{sub} downgraded to sell at {bank}, target cut to {pt}",
        "{sub} cuts guidance, warns of weaker demand",
        "Regulators open probe into {co}",
        "{co} recalls flagship {product} over defects",
        "{sub} stock tanks {bigpct}, wiping billions off market value",
        "{co} suppliers warn of order cancellations",
        "{sub} sinks as major customer cancels contract",
        "Short sellers target {co} after accounting questions",
        "{co} {role} sells shares as stock slides",
        "{co} misses revenue estimates as margins shrink",
        "{sub} suspends dividend to preserve cash",
        "{co} announces layoffs of {bigpct} of staff",
        "{co} loses patent case, faces damages",
        "{sub} delays product launch after quality problems",
        "{co} hit with class action over disclosures",
        "Auditor resigns at {co}",
        "{sub} credit rating cut to junk",
        "{co} data breach exposes customer records",
        "{sub} withdraws full-year outlook",
        "{co} {role} departs abruptly",
        "{co} faces antitrust lawsuit from regulators",
        "{sub} loses key government contract",
        "{co} plant fire halts production",
    ),
    "positive": (
        "{co} shares soar after blowout forecast",
        "{sub} upgraded to strong buy at {bank}, target {pt}",
        "{sub} raises guidance on record demand",
        "{co} wins landmark contract",
        "{sub} stock rockets {bigpct} to record high",
    ),
    "neutral": (
        "{co} confirms it is reviewing strategic options",
        "{sub} halted pending news",
        "{co} schedules emergency investor call",
        "{sub} trading volume spikes on heavy options activity",
    ),
}
