DROP TABLE ledger_items;
DROP TABLE retrospectives;
