-- A per-topic rollup's aggregates: the document's score and sentiment.
    countState() AS docs,
    avgState(score) AS score_avg,
    sumState(toUInt64(sentiment = -1)) AS negatives,
    sumState(toUInt64(sentiment = 1)) AS positives
