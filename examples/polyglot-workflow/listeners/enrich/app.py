"""The Enrich task's listener: counts an order's lines and adds up its subtotal.

Input: {"order": {"id": "o-1", "items": [{"sku": "a", "qty": 2, "price": 3.5}, ...]}}
Answer: the order, with "lines" (how many items) and "subtotal" (the sum of qty * price, to
the cent). An item without a number where one is due fails the task with the Python error
(a KeyError or TypeError) as the task's error.
Handler: app.handler (Python, zip package with eventdriven_listener.py beside it).
"""

from eventdriven_listener import finish, listener


@listener
def handler(event):
    order = event.input["order"]
    items = order.get("items") or []
    subtotal = sum(item["qty"] * item["price"] for item in items)
    return finish({**order, "lines": len(items), "subtotal": round(subtotal, 2)})
