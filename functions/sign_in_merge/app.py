"""Cognito's Post Authentication trigger: the shopper's guest cart merged at sign-in (cart_common.trigger),
in a function of its own, so a burst on POST /cart/merge cannot throttle sign-ins."""

from cart_common import init_done, trigger

lambda_handler = trigger.lambda_handler
# The handler exists: init is over (the trigger's entry point is not api.observed, which would say so).
init_done()
