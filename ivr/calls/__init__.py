"""The IVR: Twilio's voice webhooks, the menu call flow, TwiML, and what a menu choice does."""
