"""The names the synthetic feed talks about: companies, institutions, outlets and people."""

from __future__ import annotations

from typing import NamedTuple


class Company(NamedTuple):
    """A listed company the feed can mention."""

    symbol: str
    name: str
    sector: str


COMPANIES: tuple[Company, ...] = (
    Company("AAPL", "Apple", "tech"),
    Company("MSFT", "Microsoft", "tech"),
    Company("NVDA", "Nvidia", "tech"),
    Company("GOOGL", "Alphabet", "tech"),
    Company("AMZN", "Amazon", "consumer"),
    Company("META", "Meta Platforms", "tech"),
    Company("TSLA", "Tesla", "consumer"),
    Company("AMD", "AMD", "tech"),
    Company("INTC", "Intel", "tech"),
    Company("ORCL", "Oracle", "tech"),
    Company("CRM", "Salesforce", "tech"),
    Company("ADBE", "Adobe", "tech"),
    Company("NFLX", "Netflix", "consumer"),
    Company("DIS", "Disney", "consumer"),
    Company("NKE", "Nike", "consumer"),
    Company("SBUX", "Starbucks", "consumer"),
    Company("MCD", "McDonald's", "consumer"),
    Company("WMT", "Walmart", "consumer"),
    Company("COST", "Costco", "consumer"),
    Company("KO", "Coca-Cola", "consumer"),
    Company("PEP", "PepsiCo", "consumer"),
    Company("PG", "Procter & Gamble", "consumer"),
    Company("JNJ", "Johnson & Johnson", "health"),
    Company("PFE", "Pfizer", "health"),
    Company("MRK", "Merck", "health"),
    Company("UNH", "UnitedHealth", "health"),
    Company("LLY", "Eli Lilly", "health"),
    Company("JPM", "JPMorgan", "financials"),
    Company("BAC", "Bank of America", "financials"),
    Company("GS", "Goldman Sachs", "financials"),
    Company("MS", "Morgan Stanley", "financials"),
    Company("WFC", "Wells Fargo", "financials"),
    Company("C", "Citigroup", "financials"),
    Company("BRK.B", "Berkshire Hathaway", "financials"),
    Company("V", "Visa", "financials"),
    Company("XOM", "Exxon Mobil", "energy"),
    Company("CVX", "Chevron", "energy"),
    Company("COP", "ConocoPhillips", "energy"),
    Company("BA", "Boeing", "industrials"),
    Company("CAT", "Caterpillar", "industrials"),
    Company("GE", "GE Aerospace", "industrials"),
    Company("F", "Ford", "consumer"),
)

BY_SYMBOL: dict[str, Company] = {c.symbol: c for c in COMPANIES}

NEWS_SOURCES: tuple[str, ...] = (
    "synth-wire",
    "synth-markets",
    "synth-business",
    "synth-briefs",
    "synth-street",
    "synth-daily",
)
PLATFORMS: tuple[str, ...] = ("x", "stocktwits", "reddit", "bluesky", "mastodon")
HANDLE_WORDS: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "bullish",
        "bearish",
        "quiet",
        "macro",
        "value",
        "options",
        "degen",
        "patient",
        "contrarian",
        "dividend",
        "swing",
        "chart",
        "midwest",
        "retired",
        "tape",
    ),
    (
        "otter",
        "trader",
        "analyst",
        "investor",
        "reader",
        "hawk",
        "dove",
        "monk",
        "owl",
        "whale",
        "fox",
        "guy",
        "gal",
        "desk",
        "watcher",
    ),
)

ANALYST_FIRMS: tuple[str, ...] = (
    "Morgan Stanley",
    "Goldman Sachs",
    "JPMorgan",
    "Bank of America",
    "Citi",
    "UBS",
    "Barclays",
    "Jefferies",
    "Wedbush",
    "Bernstein",
    "Piper Sandler",
    "Evercore ISI",
    "Mizuho",
    "KeyBanc",
)
CENTRAL_BANKS: tuple[str, ...] = (
    "Fed",
    "ECB",
    "Bank of England",
    "Bank of Japan",
    "Bank of Canada",
    "RBA",
    "SNB",
    "PBOC",
)
CURRENCY_PAIRS: tuple[str, ...] = ("EUR/USD", "USD/JPY", "GBP/USD", "USD/CNH", "AUD/USD", "USD/CAD")
CURRENCIES: tuple[str, ...] = ("dollar", "euro", "yen", "sterling", "yuan", "Swiss franc", "peso")
METALS: tuple[str, ...] = ("Gold", "Silver", "Copper", "Platinum", "Palladium", "Lithium")
CRUDE: tuple[str, ...] = ("Brent", "WTI", "Oil", "Crude")
INDEXES: tuple[str, ...] = ("S&P 500", "Nasdaq", "Dow", "Russell 2000", "Stoxx 600", "Nikkei")
COUNTRIES: tuple[str, ...] = (
    "China",
    "Germany",
    "Japan",
    "the UK",
    "Canada",
    "India",
    "Brazil",
    "Mexico",
    "France",
)
ROLES: tuple[str, ...] = ("CEO", "CFO", "COO", "CTO", "chairman", "head of AI", "general counsel")
PEOPLE: tuple[str, ...] = (
    "Dana Whitfield",
    "Marcus Ortega",
    "Priya Raman",
    "Elena Kovacs",
    "Tom Brennan",
    "Aiko Tanaka",
    "Samuel Okafor",
    "Laura Lindqvist",
    "Victor Hale",
    "Nina Castellano",
)
IPO_NAMES: tuple[str, ...] = (
    "Lumen Robotics",
    "Northwind Bio",
    "Cobalt Payments",
    "Harbor AI",
    "Vireo Energy",
    "Quillpoint Software",
    "Bluefin Logistics",
    "Stratus Chips",
)
PRODUCTS: dict[str, tuple[str, ...]] = {
    "tech": ("AI chip", "flagship phone", "cloud platform", "data-center server", "smart glasses"),
    "consumer": ("electric pickup", "streaming tier", "loyalty app", "running shoe", "snack line"),
    "health": ("weight-loss drug", "cancer therapy", "vaccine", "insulin pen", "glucose monitor"),
    "financials": ("payments app", "credit card", "trading platform", "wealth service"),
    "energy": ("LNG project", "offshore platform", "refinery upgrade", "carbon-capture plant"),
    "industrials": ("jet engine", "excavator", "wide-body jet", "wind turbine"),
}
