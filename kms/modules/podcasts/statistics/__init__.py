"""The Podcast-Statistik page's UI (ui.py); the counting lives in kms.modules.podcasts.stats."""
