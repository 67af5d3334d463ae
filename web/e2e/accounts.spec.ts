// Accounts that recover: the links in the mails (through aws-ses-v2-local) verify an address and
// reset a password; the account page changes it.
import { expect, test } from "@playwright/test";
import { expectAccessible, linkIn, logInViaUi, mailTo, PASSWORD, registerViaUi, screenshots } from "./helpers";

const NEW_PASSWORD = "Brand5NewHorse";

test("verify the address from the mail's link", async ({ page, request }) => {
  const email = await registerViaUi(page);
  const notice = page.getByRole("complementary", { name: "Email verification" });
  await expect(notice).toContainText("Please verify your email");
  await expect(notice).toBeVisible();
  await notice.getByRole("button", { name: "Resend" }).click();
  await expect(notice).toContainText("we sent a new link");
  // The resend's link is the live one: the first mail's was superseded.
  const first = linkIn(await mailTo(request, email, 1), "/verify-email");
  const second = linkIn(await mailTo(request, email, 2), "/verify-email");
  await page.goto(first);
  await expect(page.getByRole("alert")).toContainText("invalid or has expired");
  await page.goto(second);
  await expect(page.getByRole("status").filter({ hasText: "Email verified" })).toBeVisible();
  await expect(page.getByText("Please verify your email")).toHaveCount(0);
  await expectAccessible(page);
  await screenshots(page, "verify-email");
});

test("forgot password → mail → reset → log in", async ({ page, request }) => {
  const email = await registerViaUi(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("Email").fill(email);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status")).toHaveText("If an account exists for that address, we sent a link.");
  await screenshots(page, "forgot-password");

  const link = linkIn(await mailTo(request, email, 2), "/reset-password");
  await page.goto(link);
  await page.getByLabel("New password").fill("weak");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await expectAccessible(page);
  await screenshots(page, "reset-password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("status")).toHaveText("Password changed");
  await logInViaUi(page, email, NEW_PASSWORD);

  // The link worked once.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.goto(link);
  await page.getByLabel("New password").fill("Another7Horse");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("alert")).toContainText("invalid or has expired");
});

test("change the password on the account page", async ({ page }) => {
  const email = await registerViaUi(page, "Grace Account");
  await page.getByRole("link", { name: "Grace Account" }).click();
  await expect(page).toHaveURL(/\/account$/);
  const address = page.getByRole("definition").filter({ hasText: email });
  await expect(address).toContainText("not verified");
  await page.getByLabel("Current password").fill("Wrong1Password");
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("alert")).toContainText("Invalid email or password");
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Password changed" })).toBeVisible();
  await expectAccessible(page);
  await screenshots(page, "account");
  // Still signed in (new tokens), and after a reload too: the new refresh cookie works.
  await page.reload();
  await expect(page.getByRole("button", { name: "Log out" })).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await logInViaUi(page, email, NEW_PASSWORD);
});
