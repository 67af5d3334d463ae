import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { App } from "./App";
import { ApiError, isRetryable } from "./api/errors";
import { resumeSession } from "./session/actions";
import { onUserChange } from "./session/store";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // Reads are safe to repeat: a passing failure is asked again, as the server asks.
      retry: (failures, error) => failures < 2 && isRetryable(error),
      retryDelay: (failures, error) =>
        Math.min(
          error instanceof ApiError && error.retryAfterMs !== undefined ? error.retryAfterMs : 1000 * 2 ** failures,
          5000,
        ),
    },
    mutations: { retry: false },
  },
});

// One user's data never shows to the next: the cache goes with every sign-out (the button, or a
// 401 that ended the session) and with a change of user.
onUserChange(() => queryClient.clear());

void resumeSession();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}
