"""The one domain error of the rendering package."""


class RenderError(ValueError):
    """Input cannot be rendered; the message is German and meant for the user."""
