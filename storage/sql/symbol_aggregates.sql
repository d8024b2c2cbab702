-- A per-symbol rollup's aggregates: each symbol's own score and sentiment, read from the document's
-- per-symbol arrays at symbol_index (ARRAY JOIN); rows stored before those arrays existed (empty)
-- count the document's.
    countState() AS docs,
    avgState(if(length(symbol_scores) = length(symbols), symbol_scores[symbol_index], score)) AS score_avg,
    sumState(toUInt64(if(length(symbol_sentiments) = length(symbols), symbol_sentiments[symbol_index], sentiment) = -1))
        AS negatives,
    sumState(toUInt64(if(length(symbol_sentiments) = length(symbols), symbol_sentiments[symbol_index], sentiment) = 1))
        AS positives
