DROP TABLE session_payers;
