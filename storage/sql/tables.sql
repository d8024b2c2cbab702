-- finsent's ClickHouse tables. Written to run on ClickHouse 18.16 and on current releases
-- (chdb): no DateTime64, LowCardinality, CODEC, TTL or query parameters.
-- Statements are separated by lines holding only ';'. storage/tables.py fills in the placeholders
-- (string.Template) before splitting.

-- One row per accepted document. Its insert is the commit point of a batch: the
-- worker writes scores first, then documents, and skips documents already here.
CREATE TABLE IF NOT EXISTS documents
(
    doc_id String,
    kind Enum8('news' = 1, 'social' = 2),
    source String,
    event_time DateTime('UTC'),
    ingested_at DateTime('UTC'),
    headline String,
    body String,
    url String,
    author_hash String,
    symbols Array(String),
    content_hash String,
    topic String,
    topic_confidence Float32,
    sentiment Int8,
    p_negative Float32,
    p_neutral Float32,
    p_positive Float32,
    score Float32,
    model_version String,
    likes UInt32,
    reposts UInt32,
    replies UInt32,
    insert_token String DEFAULT '',
    symbol_sentiments Array(Int8) DEFAULT [],
    symbol_scores Array(Float32) DEFAULT [],
    symbol_sources Array(Enum8('document' = 1, 'mention' = 2)) DEFAULT [],
    relevances Array(UInt8) DEFAULT [],
    story_id String DEFAULT doc_id,
    similar_12h UInt32 DEFAULT 0,
    similar_24h UInt32 DEFAULT 0,
    novelty UInt8 DEFAULT 100
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY doc_id
;
-- One row per (document, symbol); symbol '' when the document names none.
CREATE TABLE IF NOT EXISTS scores
(
    doc_id String,
    kind Enum8('news' = 1, 'social' = 2),
    source String,
    symbol String,
    event_time DateTime('UTC'),
    topic String,
    topic_confidence Float32,
    sentiment Int8,
    p_negative Float32,
    p_neutral Float32,
    p_positive Float32,
    score Float32,
    model_version String,
    ingested_at DateTime('UTC'),
    symbol_sentiment Int8 DEFAULT sentiment,
    symbol_score Float32 DEFAULT score,
    symbol_source Enum8('document' = 1, 'mention' = 2) DEFAULT 'document',
    relevance UInt8 DEFAULT 100
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (symbol, event_time, doc_id)
;
-- The per-minute rollups, per symbol and per topic, each minute split by story (and, per symbol,
-- by the document's relevance to it): each table from storage/sql/rollup_table.sql, then the view
-- that fills it with the aggregates of storage/sql/symbol_aggregates.sql or document_aggregates.sql.
-- A series that counts stories groups these by story inside its bucket, so a story's copies count
-- once and its mean score once; one that counts documents merges every row of its bucket
-- (storage/queries.py). Rollups read the documents insert, so each document counts once however
-- many times its batch is retried (retries skip documents already stored). Rows stored before
-- these existed are copied in by init_schema (storage.base.STORY_ROLLUPS), each a story of one;
-- the per-minute rollups without stories that came before them are dropped (storage.base.RETIRED).
${stories_by_symbol_1m}
;
-- Per symbol, the text's sentiment toward that symbol.
CREATE MATERIALIZED VIEW IF NOT EXISTS stories_by_symbol_1m_mv TO stories_by_symbol_1m AS
SELECT
    toStartOfMinute(event_time) AS minute,
    symbol,
    story_id,
    if(length(relevances) = length(symbols), relevances[symbol_index], 100) AS relevance,
${symbol_aggregates}
FROM documents
ARRAY JOIN symbols AS symbol, arrayEnumerate(symbols) AS symbol_index
GROUP BY minute, symbol, story_id, relevance
;
${stories_by_topic_1m}
;
CREATE MATERIALIZED VIEW IF NOT EXISTS stories_by_topic_1m_mv TO stories_by_topic_1m AS
SELECT
    toStartOfMinute(event_time) AS minute,
    topic,
    story_id,
${document_aggregates}
FROM documents
GROUP BY minute, topic, story_id
;
-- Fired alerts and their Grafana delivery state (the outbox); the highest version wins.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String,
    rule_id String,
    severity Enum8('info' = 1, 'warning' = 2, 'critical' = 3),
    scope Enum8('symbol' = 1, 'topic' = 2, 'all' = 3),
    symbol String,
    topic String,
    metric String,
    comparison String,
    value Float64,
    threshold Float64,
    window_s UInt32,
    doc_count UInt32,
    fired_at DateTime('UTC'),
    headlines Array(String),
    delivery_state Enum8('pending' = 1, 'delivered' = 2, 'failed' = 3, 'not_configured' = 4),
    delivery_attempts UInt32,
    annotation_id Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY alert_id
;
-- Messages that could not be stored, with the reason (also on finsent.deadletter). Keyed by
-- where they came from, so a retried batch replaces rather than adds. Only a preview of the
-- raw bytes is kept; the topic has them whole.
CREATE TABLE IF NOT EXISTS dead_letters
(
    topic String,
    partition UInt32,
    offset UInt64,
    error String,
    raw_preview String,
    raw_bytes UInt64,
    failed_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(failed_at)
ORDER BY (topic, partition, offset)
;
-- One row per batch a worker finished: size, outcome, duration and the consumer lag after it.
CREATE TABLE IF NOT EXISTS pipeline_batches
(
    worker String,
    finished_at DateTime('UTC'),
    messages UInt32,
    documents UInt32,
    dead_letters UInt32,
    duplicates UInt32,
    seconds Float32,
    lag UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(finished_at)
ORDER BY (finished_at, worker)
;
-- API keys for `finsent api`: a salted SHA-256 of the secret, never the secret. Revoking
-- inserts the key again with revoked = 1 and version + 1; readers use FINAL.
CREATE TABLE IF NOT EXISTS api_keys
(
    key_id String,
    name String,
    scope Enum8('read' = 1, 'write' = 2, 'admin' = 3),
    salt String,
    key_hash String,
    created_at DateTime('UTC'),
    revoked UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id
;
-- People's corrections of the model: one row per (document, task, labeller); a later label by the
-- same labeller replaces the earlier one, labels by different labellers stay side by side.
CREATE TABLE IF NOT EXISTS labels
(
    doc_id String,
    task Enum8('sentiment' = 1, 'topic' = 2),
    label String,
    labeller String,
    labelled_at DateTime('UTC'),
    model_version String
)
ENGINE = ReplacingMergeTree(labelled_at)
ORDER BY (doc_id, task, labeller)
;
-- The model registry: every trained version, its parent, where its files are, what it learned from.
CREATE TABLE IF NOT EXISTS model_versions
(
    version String,
    parent String,
    path String,
    created_at DateTime('UTC'),
    summary String,
    metrics String
)
ENGINE = ReplacingMergeTree
ORDER BY version
;
-- Promotions and rollbacks, in order: the row with the highest sequence names the active version.
CREATE TABLE IF NOT EXISTS model_activations
(
    sequence UInt64,
    changed_at DateTime('UTC'),
    version String,
    previous String,
    reason String,
    actor String
)
ENGINE = MergeTree
ORDER BY sequence
;
-- Shadow scoring: documents a challenger scored beside the model that scored them; one row per
-- (challenger, document), so a batch shadowed twice is kept once.
CREATE TABLE IF NOT EXISTS shadow_scores
(
    doc_id String,
    champion String,
    challenger String,
    champion_sentiment Int8,
    challenger_sentiment Int8,
    champion_score Float32,
    challenger_score Float32,
    champion_topic String,
    challenger_topic String,
    scored_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (challenger, doc_id)
;
-- Which version shadows the active one, on what share of documents: the row with the highest
-- sequence is in force; an empty version turns shadow scoring off.
CREATE TABLE IF NOT EXISTS model_shadows
(
    sequence UInt64,
    changed_at DateTime('UTC'),
    version String,
    sample_rate Float64,
    actor String
)
ENGINE = MergeTree
ORDER BY sequence
;
-- The story index (storage/stories.py): one row per LSH band key of each document of the last
-- day or two, and what confirms a candidate. No TTL on 18.16: partitions older than the window
-- are dropped by the worker (``expire_stories``) and lookups bound event_time themselves.
CREATE TABLE IF NOT EXISTS story_keys
(
    band_key UInt32,
    event_time DateTime('UTC'),
    doc_id String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(event_time)
ORDER BY (band_key, event_time, doc_id)
;
CREATE TABLE IF NOT EXISTS story_docs
(
    doc_id String,
    event_time DateTime('UTC'),
    shingles Array(UInt32),
    facts Array(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(event_time)
ORDER BY doc_id
