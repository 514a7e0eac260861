// Verifies one received webhook with the reference Standard Webhooks library.
// Input on stdin: {"secret": "whsec_...", "body": "<raw body>", "headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}}
// Exit code 0 and "ok" when the signature verifies; 1 and the library's error otherwise.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, body, headers } = JSON.parse(input);
try {
  new Webhook(secret).verify(body, headers);
  console.log("ok");
} catch (e) {
  console.error(String(e));
  process.exit(1);
}
