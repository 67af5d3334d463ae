// Stripe.js, loaded once from the URL the server names (`config.payments.jsUrl`), and the few of
// its calls the checkout uses. The card field is Stripe's own Element: card data goes from it to
// Stripe, never through this app's code or server.
import { PaymentError } from "../api/errors";
import type { Payments } from "./config";

export interface CardElement {
  mount(target: HTMLElement): void;
  destroy(): void;
  on(event: "change", handler: (event?: { error?: { message: string } }) => void): void;
}

export interface StripeError {
  message?: string;
  code?: string;
  type?: string;
  payment_intent?: { status?: string };
}

export interface StripeClient {
  elements(): { create(type: "card", options?: Record<string, unknown>): CardElement };
  confirmCardPayment(
    clientSecret: string,
    data: { payment_method: { card: CardElement } },
  ): Promise<{ error?: StripeError | null; paymentIntent?: { status?: string } }>;
}

declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeClient;
  }
}

const loaded = new Map<string, Promise<StripeClient>>();

/** The Stripe client for these settings, loading Stripe.js on first use. */
export function loadStripe(payments: Payments): Promise<StripeClient> {
  const key = `${payments.jsUrl} ${payments.publishableKey}`;
  let client = loaded.get(key);
  if (!client) {
    client = injectScript(payments.jsUrl).then(() => {
      if (!window.Stripe) throw new PaymentError("The payment form did not load.");
      return window.Stripe(payments.publishableKey);
    });
    // A failed load may be tried again (the network may come back).
    client.catch(() => loaded.delete(key));
    loaded.set(key, client);
  }
  return client;
}

function injectScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => {
      script.remove();
      reject(new PaymentError("The payment form could not be loaded. Check your connection and try again."));
    };
    document.head.appendChild(script);
  });
}
