"""The web app: feeds for subscribers, pages for people."""
