"""feedwash: poll feeds and seed posts, clean and deduplicate articles, republish clean feeds."""

__version__ = "0.1.0"
USER_AGENT = f"feedwash/{__version__} (+https://github.com/feedwash/feedwash)"
