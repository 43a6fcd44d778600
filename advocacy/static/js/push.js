/* Registers the service worker on every page (the site is an installable web app), and drives the preferences
 * page's "Enable notifications" / "Turn off on this device" buttons: PushManager.subscribe() with the server's VAPID
 * key, then the subscription is sent to /api/me/push-subscriptions (POST to keep it, DELETE to forget it). */
const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

function keyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const answer = await fetch("/api/me/push-subscriptions", {
    method, credentials: "same-origin", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
  });
  if (!answer.ok) throw new Error((await answer.json().catch(() => ({}))).message || `HTTP ${answer.status}`);
}

function say(box, text) { const s = box.querySelector("[data-push-status]"); if (s) s.textContent = text; }

async function setUp(box) {
  const on = box.querySelector("[data-push-enable]");
  const off = box.querySelector("[data-push-disable]");
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(box, "This browser cannot show notifications from a web site.");
    return;
  }
  const registration = await navigator.serviceWorker.ready;
  const current = await registration.pushManager.getSubscription();
  on.hidden = false;
  off.hidden = !current;
  if (current) say(box, "Notifications are on for this device.");
  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        say(box, "Notifications are blocked for this site: allow them in the browser's site settings.");
        return;
      }
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.vapidKey) });
      await send("POST", subscription.toJSON());
      off.hidden = false;
      say(box, "Notifications are on for this device.");
    } catch (error) {
      say(box, `Notifications could not be turned on: ${error.message}`);
    } finally { on.disabled = false; }
  });
  off.addEventListener("click", async () => {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      await send("DELETE", { endpoint: subscription.endpoint }).catch(() => {});
      await subscription.unsubscribe();
    }
    off.hidden = true;
    say(box, "Notifications are off for this device.");
  });
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  document.querySelectorAll("[data-push-setup]").forEach((box) => { setUp(box); });
}
