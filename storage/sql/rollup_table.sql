-- A per-minute rollup table, one per key (storage/tables.py ROLLUP_KEYS): ${key} stands for the key
-- column, and the queries read every rollup the same way (countMerge, avgMerge, sumMerge).
CREATE TABLE IF NOT EXISTS sentiment_by_${key}_1m
(
    minute DateTime('UTC'),
    ${key} String,
    docs AggregateFunction(count),
    score_avg AggregateFunction(avg, Float32),
    negatives AggregateFunction(sum, UInt64),
    positives AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (${key}, minute)
