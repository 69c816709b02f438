"""Statutory retention of the documents KMS files (modules name these in their document types).

§ 147 Abs. 3 AO (as amended by the BEG IV, from 1 January 2025): books and records
10 years (Abs. 1 Nr. 1), Buchungsbelege incl. invoices 8 years (Abs. 1 Nr. 4), received
and sent business letters 6 years (Abs. 1 Nr. 2, 3); § 14b Abs. 1 UStG: invoices 8 years.
§ 147 Abs. 4 AO / § 14b Abs. 1 Satz 3 UStG: the period starts at the end of the calendar
year in which the document was issued or received.
"""

INVOICES = "§ 14b Abs. 1 UStG, § 147 Abs. 1 Nr. 4, Abs. 3 AO"
INVOICE_YEARS = 8
LETTERS = "§ 147 Abs. 1 Nr. 2 und 3, Abs. 3 AO"
LETTER_YEARS = 6
RECEIPTS = "§ 147 Abs. 1 Nr. 4, Abs. 3 AO"
BOOKS = "§ 147 Abs. 1 Nr. 1, Abs. 3 AO"
BOOK_YEARS = 10
