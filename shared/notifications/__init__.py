"""Graph change notifications: the light webhook handling (`webhook`) and the subscriptions' directory.

`webhook` imports only the standard library, so the notification endpoint answers well within Graph's 3 s even
on a cold instance; everything heavy (msgraph, OpenAir) lives behind the queue, in `shared/jobs/importing.py`.
"""
