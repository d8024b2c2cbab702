-- A per-minute rollup table (storage/tables.py ROLLUPS fills in its name, key columns and sort
-- key); every rollup has the same aggregates, read the same way (countMerge, avgMerge, sumMerge).
CREATE TABLE IF NOT EXISTS ${table}
(
    minute DateTime('UTC'),
${keys}
    docs AggregateFunction(count),
    score_avg AggregateFunction(avg, Float32),
    negatives AggregateFunction(sum, UInt64),
    positives AggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (${order})
