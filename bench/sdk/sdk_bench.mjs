// The Node SDK side of bench/stripe_sdk_bench.cpp: creates and confirms COUNT keyed card-present
// PaymentIntents on a connected account through stripe-node (pinned in package-lock.json), with
// CONCURRENCY calls in flight, against the till-stripe-sim on SIM_PORT. The parameters are the
// ones Till's side sends, in the same order, so both request bodies are the same bytes.
// Prints one line: "elapsed_s <seconds> ok <n> failed <n>" (the loop only; the driver measures
// the process's CPU and RSS from outside).
//   SIM_PORT=... SIM_KEY=... SIM_ACCOUNT=... COUNT=... CONCURRENCY=... PREFIX=... node sdk_bench.mjs
import Stripe from 'stripe';

const port = Number(process.env.SIM_PORT);
const count = Number(process.env.COUNT);
const concurrency = Number(process.env.CONCURRENCY);
const prefix = process.env.PREFIX;
const account = process.env.SIM_ACCOUNT;

// The SDK's defaults (keep-alive agent, telemetry, retries), pointed at the simulator.
const stripe = new Stripe(process.env.SIM_KEY, {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  apiVersion: '2026-10-28.endive',
  appInfo: { name: 'Till', version: '0.1.0', url: 'https://till.example' },
});

let next = 0;
let ok = 0;
let failed = 0;
async function worker() {
  while (next < count) {
    const i = next++;
    try {
      await stripe.paymentIntents.create({
        // Whole tens only: amounts ending in .01/.05/.55/.65/.75 are the simulator's test declines.
        amount: 1000 + 10 * (i % 50),
        currency: 'usd',
        allowed_payment_method_types: ['card_present'],
        application_fee_amount: 30,
        payment_method: 'pm_card_visa',
        confirm: true,
        metadata: { sale_id: `${prefix}${i}`, register_id: 'bench', attempt: '1' },
      }, { stripeAccount: account, idempotencyKey: `${prefix}${i}` });
      ok += 1;
    } catch (e) {
      failed += 1;
      if (failed === 1) console.error(`first failure: ${e.message}`);
    }
  }
}

const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`elapsed_s ${elapsed} ok ${ok} failed ${failed}`);
