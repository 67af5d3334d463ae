"""Starts localstripe (the pinned PyPI package) as the project's tests and `scripts/run` use it.

Two changes to stock localstripe 1.15.10, both making it behave more like Stripe:

- Its store is not pickled to one shared file in /tmp after every write (slow under load, and
  shared between runs): each run starts empty.
- A browser can pay a PaymentIntent with a card, as Stripe.js's
  `confirmCardPayment(clientSecret, { payment_method: { card } })` does against Stripe. Stock
  localstripe's Stripe.js look-alike ignores the card element and only answers a 3-D Secure
  prompt, and its API refuses a payment method on confirm ("Not implemented"). Here a route
  authorised like Stripe's own client-side confirm (publishable key + the intent's client
  secret) makes a payment method of the card, confirms the intent with it (a declined card fails
  with Stripe's message and leaves the intent payable with another card, as Stripe does), and
  the served Stripe.js calls it, then runs localstripe's own 3-D Secure prompt when the card asks
  for one. The card still goes from the page straight to the Stripe stand-in, never through the
  app's own server.

Usage: python localstripe-server.py PORT
"""

import sys

from aiohttp import web
from localstripe import resources
from localstripe.errors import UserError

resources.Store.dump_to_disk = lambda self: None

from localstripe import server  # noqa: E402  (after the patch above: it loads the store)

# localstripe lets the publishable key in on `/v1/payment_intents/<id>/_authenticate\b...`,
# so the card route lives under that prefix.
CARD_ROUTE = "/v1/payment_intents/{id}/_authenticate/card"

STRIPE_JS_CARD_CONFIRM = r"""
// --- ticketing: confirmCardPayment with a card element, as Stripe.js does (scripts/localstripe-server.py)
(function () {
  const original = Stripe;
  Stripe = (apiKey) => {
    const stripe = original(apiKey);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const element = data && data.payment_method && data.payment_method.card;
      const match = /^(pi_\w+)_secret_/.exec(clientSecret || '');
      if (!match) return { error: { type: 'invalid_request_error', message: 'Invalid client secret.' } };
      const card = element && element.value && element.value.card;
      if (!card || !card.number) {
        return { error: { type: 'validation_error', code: 'incomplete_number', message: 'Your card number is incomplete.' } };
      }
      try {
        const response = await fetch(`${LOCALSTRIPE_BASE_API}/v1/payment_intents/${match[1]}/_authenticate/card`, {
          // No Content-Type header: a simple request, as localstripe's own calls (no preflight).
          method: 'POST',
          body: JSON.stringify({ key: apiKey, client_secret: clientSecret, card }),
        });
        const body = await response.json().catch(() => ({}));
        if (response.status !== 200 || body.error) {
          return { error: body.error || { message: 'The payment failed.' } };
        }
        if (body.status === 'requires_action') return authenticate(clientSecret, data);
        return { paymentIntent: body };
      } catch (err) {
        return { error: { type: 'api_connection_error', message: String(err) } };
      }
    };
    return stripe;
  };
})();
"""


async def confirm_with_card(request):
    data = await server.get_post_data(request) or {}
    intent = resources.PaymentIntent._api_retrieve(request.match_info["id"])
    if data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    card = data.get("card")
    if not isinstance(card, dict):
        raise UserError(400, "Bad request")
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        # Stripe's answer to confirming an intent that is past it (e.g. paid in another tab).
        raise UserError(
            400,
            "This PaymentIntent's status is %s: it cannot be confirmed." % intent.status,
            {"code": "payment_intent_unexpected_state", "payment_intent": intent._export()},
        )
    method = resources.PaymentMethod._api_create(
        type="card",
        card={k: str(card.get(k, "")) for k in ("number", "exp_month", "exp_year", "cvc")},
    )
    # A declined card's charge is forgotten, so another card may be tried (Stripe allows it).
    intent.latest_charge = None
    intent.payment_method = method.id
    intent._confirm(on_failure_now=intent._report_failure)
    return server.json_response(intent._export())


async def stripe_js(request):
    with open(server.os.path.dirname(server.__file__) + "/localstripe-v3.js") as f:
        text = f.read()
    return web.Response(text=text + STRIPE_JS_CARD_CONFIRM, content_type="application/javascript")


@web.middleware
async def serve_stripe_js(request, handler):
    if request.method == "GET" and request.path == "/js.stripe.com/v3/":
        return await stripe_js(request)
    return await handler(request)


server.app.router.add_route("POST", CARD_ROUTE, confirm_with_card)
# The stock Stripe.js route is shadowed (a middleware answers before the router's handler).
server.app.middlewares.append(serve_stripe_js)

sys.argv = ["localstripe", "--port", sys.argv[1], "--from-scratch"]
server.start()
