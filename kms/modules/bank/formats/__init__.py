"""Bank statement parsers: bytes of one file -> kms.modules.bank.statement.Statement."""
