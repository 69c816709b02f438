"""Pure e-invoicing core: invoice data in, EN 16931 CII or UBL XML and Factur-X PDF bytes out.

No UI, no database: callers pass `model.InvoiceDocument` and get bytes back. Never import
streamlit or sqlalchemy here.
"""
