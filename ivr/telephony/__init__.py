"""Talking to Twilio, and a local simulator of Twilio for tests and a terminal phone.

base           the Telephony interface the server uses (redirect, outbound call, recording)
twilio_rest    Telephony over twilio's REST client (optionally pointed at a local server)
simulator      Simulator: plays Twilio's side of calls against our webhooks
sim_telephony  Telephony served in-process by a Simulator
rest_server    Twilio-compatible REST endpoints backed by a Simulator
callers        ScriptedCaller / InteractiveCaller: the person on the line
transport      FlaskTransport (in-process) / HttpTransport (real HTTP) for webhook requests
phones         customer phone numbers in E.164 (pure: customers, surveys and announcements use it)
"""
