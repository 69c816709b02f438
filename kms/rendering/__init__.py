"""PDF rendering, data in and bytes out: din5008 (page base), letter, markdown, girocode.

Never imports Streamlit or SQLAlchemy; errors are kms.rendering.errors.RenderError (German).
"""
