"""A side effect: records that an order went through the workflow.

It answers no task (its events carry no task token): what it returns is the function's
response, and the platform puts `<detail type>.done` when it returns, `side_effect.failed`
when it raises.
Handler: app.handler (Python, zip package with eventdriven_listener.py beside it).
"""

from eventdriven_listener import listener


@listener
def handler(event):
    order_id = event.input["order"]["id"]
    print(f"audited order {order_id} of run {event.run_name} ({event.detail_type})")
    return {"audited": order_id}
