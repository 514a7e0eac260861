// Starts fauxqs (an SQS-protocol emulator) on 127.0.0.1 only: its own CLI always listens on 0.0.0.0.
// FAUXQS_PORT chooses the port. State is in memory and goes with the process.
import { buildApp } from "fauxqs";

const port = Number.parseInt(process.env.FAUXQS_PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error("FAUXQS_PORT must be a TCP port number");
  process.exit(2);
}

const app = buildApp({ logger: process.env.FAUXQS_LOGGER === "true" });
const address = await app.listen({ host: "127.0.0.1", port });
console.log(`fauxqs listening at ${address}`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
