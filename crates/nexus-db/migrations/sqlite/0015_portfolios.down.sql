DROP TABLE portfolio_entries;
DROP TABLE portfolios;
