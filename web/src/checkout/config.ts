// The deployment's public settings (`GET /api/v1/config`): whether bookings are paid through a
// provider, and which Stripe.js to load. Read once per visit.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";

export type AppConfig = Awaited<ReturnType<typeof fetchConfig>>;
export type Payments = NonNullable<AppConfig["payments"]>;

async function fetchConfig() {
  const body = await unwrap(api.GET("/api/v1/config"));
  if (!body.data) throw new Error("The server sent no configuration.");
  return body.data;
}

export const configKey = ["config"] as const;

export function useAppConfig() {
  return useQuery({ queryKey: configKey, queryFn: fetchConfig, staleTime: Number.POSITIVE_INFINITY });
}
