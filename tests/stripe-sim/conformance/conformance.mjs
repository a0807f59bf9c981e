// Drives an in-process till-stripe-sim with Stripe's official Node SDK (version pinned in
// package-lock.json). Started by conformance_main.cpp, which passes:
//   SIM_PORT, SIM_KEY, SIM_ACCOUNT, RESULT_FILE
// Exit code 0 when every check holds; the first failed check is printed and exits 1.
// RESULT_FILE receives a header made by the SDK's generateTestHeaderString so that the C++ side
// can check Till's own verifier accepts it.

import http from 'node:http';
import fs from 'node:fs';
import Stripe from 'stripe';

const port = Number(process.env.SIM_PORT);
const key = process.env.SIM_KEY;
const account = process.env.SIM_ACCOUNT;
const resultFile = process.env.RESULT_FILE;
const webhookSecret = 'whsec_till_conformance_secret';

let checks = 0;
function check(cond, what) {
  checks += 1;
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok - ${what}`);
}
async function expectError(promise, what) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  check(false, `${what} should have failed`);
  return null;
}

// A webhook receiver keeping the raw bytes, as constructEvent needs them.
const deliveries = [];
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['stripe-signature'] });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;
const registered = await fetch(`http://127.0.0.1:${port}/_sim/webhooks`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ url: hookUrl, secret: webhookSecret, connect: 'true' }),
});
check(registered.status === 200, 'webhook endpoint registered with the simulator');

const stripe = new Stripe(key, {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  apiVersion: '2026-10-28.endive',
  maxNetworkRetries: 2,
  appInfo: { name: 'till-conformance', version: '0.1.0', url: 'https://example.invalid/till', partner_id: 'pp_till' },
});
const onAccount = { stripeAccount: account };

// Create (manual capture), confirm, capture, refund.
const created = await stripe.paymentIntents.create({
  amount: 2000,
  currency: 'usd',
  allowed_payment_method_types: ['card_present'],
  capture_method: 'manual',
  application_fee_amount: 100,
  metadata: { sale_id: 'conf-sale-1', register_id: 'r1', attempt: '1' },
}, { ...onAccount, idempotencyKey: 'conf-create-1' });
check(created.object === 'payment_intent' && created.status === 'requires_payment_method', 'create');
check(typeof created.lastResponse.requestId === 'string' && created.lastResponse.requestId.startsWith('req_'), 'Request-Id read by the SDK');

const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' }, onAccount);
check(confirmed.status === 'requires_capture' && confirmed.amount_capturable === 2000, 'confirm to requires_capture');

const captured = await stripe.paymentIntents.capture(created.id, { amount_to_capture: 2000, application_fee_amount: 120 }, onAccount);
check(captured.status === 'succeeded' && captured.amount_received === 2000 && captured.application_fee_amount === 120, 'capture with fee');

const refund = await stripe.refunds.create({ payment_intent: created.id, amount: 500, refund_application_fee: true, reason: 'requested_by_customer' }, onAccount);
check(refund.object === 'refund' && refund.amount === 500 && refund.status === 'succeeded', 'partial refund');

const withCharge = await stripe.paymentIntents.retrieve(created.id, { expand: ['latest_charge'] }, onAccount);
check(withCharge.latest_charge.amount_refunded === 500, 'expand latest_charge shows amount_refunded');

// Idempotent replay and mismatch.
const replay = await stripe.paymentIntents.create({
  amount: 2000,
  currency: 'usd',
  allowed_payment_method_types: ['card_present'],
  capture_method: 'manual',
  application_fee_amount: 100,
  metadata: { sale_id: 'conf-sale-1', register_id: 'r1', attempt: '1' },
}, { ...onAccount, idempotencyKey: 'conf-create-1' });
check(replay.id === created.id, 'replay returns the same PaymentIntent');
check(replay.lastResponse.headers['idempotent-replayed'] === 'true', 'Idempotent-Replayed: true');

const mismatch = await expectError(stripe.paymentIntents.create({
  amount: 2100, currency: 'usd', allowed_payment_method_types: ['card_present'],
}, { ...onAccount, idempotencyKey: 'conf-create-1' }), 'mismatched idempotent request');
check(mismatch.type === 'StripeIdempotencyError' && mismatch.statusCode === 400, `mismatch is StripeIdempotencyError 400 (${mismatch.type})`);

// One call create+confirm, and a decline.
const oneShot = await stripe.paymentIntents.create({
  amount: 1500, currency: 'usd', allowed_payment_method_types: ['card_present'],
  payment_method: 'pm_card_mastercard', confirm: true, metadata: { sale_id: 'conf-sale-2' },
}, { ...onAccount, idempotencyKey: 'conf-create-2' });
check(oneShot.status === 'succeeded', 'create with confirm=true succeeds');

const declined = await expectError(stripe.paymentIntents.create({
  amount: 1500, currency: 'usd', allowed_payment_method_types: ['card_present'],
  payment_method: 'pm_card_chargeDeclinedInsufficientFunds', confirm: true,
}, { ...onAccount, idempotencyKey: 'conf-create-3' }), 'declined card');
check(declined.type === 'StripeCardError' && declined.decline_code === 'insufficient_funds', 'decline is StripeCardError with decline_code');
check(declined.payment_intent && declined.payment_intent.status === 'requires_payment_method', 'declined PI back to requires_payment_method');

const removed = await expectError(stripe.paymentIntents.create({
  amount: 1500, currency: 'usd', payment_method_types: ['card_present'],
}, onAccount), 'removed payment_method_types');
check(removed.type === 'StripeInvalidRequestError' && removed.code === 'parameter_unknown', 'payment_method_types is an unknown parameter');

// Connect scoping.
const notOnPlatform = await expectError(stripe.paymentIntents.retrieve(created.id), 'platform retrieve of a connected PI');
check(notOnPlatform.statusCode === 404 && notOnPlatform.code === 'resource_missing', 'objects live on the connected account');
const unknownAccount = await expectError(stripe.paymentIntents.list({ limit: 1 }, { stripeAccount: 'acct_1DoesNotExist000' }), 'unknown account');
check(unknownAccount.statusCode === 403, 'unknown Stripe-Account is refused');

// List and search.
const listed = await stripe.paymentIntents.list({ limit: 2 }, onAccount);
check(listed.object === 'list' && listed.data.length === 2 && listed.has_more === true, 'list pages');
const searched = await stripe.paymentIntents.search({ query: "metadata['sale_id']:'conf-sale-2'" }, onAccount);
check(searched.data.length === 1 && searched.data[0].id === oneShot.id, 'search by metadata');

// Terminal: a simulated reader processes a PaymentIntent.
const location = await stripe.terminal.locations.create({
  display_name: 'Conformance shop',
  address: { line1: '1 Main St', city: 'Toronto', country: 'CA', postal_code: 'M5V 1A1', state: 'ON' },
}, onAccount);
const reader = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', label: 'Lane 1', location: location.id }, onAccount);
check(reader.device_type === 'simulated_wisepos_e', 'simulated reader registered');
const readerPi = await stripe.paymentIntents.create({
  amount: 3000, currency: 'cad', allowed_payment_method_types: ['card_present', 'interac_present'],
}, onAccount);
const processing = await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: readerPi.id }, { ...onAccount, idempotencyKey: 'conf-process-1' });
check(processing.action.status === 'in_progress' && processing.action.type === 'process_payment_intent', 'process_payment_intent in progress');
const presented = await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id, {
  type: 'card_present', card_present: { number: '4242424242424242' },
}, onAccount);
check(presented.action.status === 'succeeded', 'present_payment_method finishes the action');
const paidOnReader = await stripe.paymentIntents.retrieve(readerPi.id, {}, onAccount);
check(paidOnReader.status === 'succeeded', 'reader payment succeeded');
const display = await stripe.terminal.readers.setReaderDisplay(reader.id, {
  type: 'cart', cart: { currency: 'cad', line_items: [{ amount: 500, description: 'Coffee', quantity: 1 }], tax: 65, total: 565 },
}, onAccount);
check(display.action.type === 'set_reader_display', 'set_reader_display accepted');

// Webhooks: every delivery verifies with the SDK; a tampered body does not.
// Deliveries are asynchronous and may arrive in any order (the simulator
// delivers from its own threads), so wait for the types this script caused,
// not for a count.
const wantedTypes = ['payment_intent.succeeded', 'terminal.reader.action_succeeded', 'charge.refunded'];
const deliveredTypes = () => new Set(deliveries.map((d) => JSON.parse(d.body).type));
const deadline = Date.now() + 20000;
while ((deliveries.length < 10 || !wantedTypes.every((t) => deliveredTypes().has(t))) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 50));
}
check(deliveries.length >= 10, `webhook deliveries arrived (${deliveries.length})`);
for (const d of deliveries) {
  const event = stripe.webhooks.constructEvent(d.body, d.signature, webhookSecret);
  if (event.account !== account) check(false, 'Connect events carry the account');
}
check(true, 'constructEvent accepted every simulator delivery');
const tampered = await expectError(Promise.resolve().then(() => stripe.webhooks.constructEvent(deliveries[0].body.replace('"event"', '"evenT"'), deliveries[0].signature, webhookSecret)), 'tampered body');
check(tampered.type === 'StripeSignatureVerificationError', 'a tampered delivery is rejected by the SDK');
const types = deliveredTypes();
const missingTypes = wantedTypes.filter((t) => !types.has(t));
check(missingTypes.length === 0, `expected event types delivered${missingTypes.length ? ` (missing ${missingTypes.join(', ')}; got ${[...types].join(', ')})` : ''}`);

// An API version outside the two newest is refused.
const oldStripe = new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', apiVersion: '2024-06-20' });
const oldVersion = await expectError(oldStripe.paymentIntents.list({ limit: 1 }), 'old API version');
check(oldVersion.statusCode === 400 && oldVersion.type === 'StripeInvalidRequestError', 'old API version refused');

// A header made by the SDK's test helper, for Till's own verifier (checked by the C++ side).
const payload = JSON.stringify({ id: 'evt_conformance', object: 'event', type: 'payment_intent.succeeded' });
const timestamp = Math.floor(Date.now() / 1000);
const header = stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret, timestamp });
fs.writeFileSync(resultFile, JSON.stringify({ payload, header, secret: webhookSecret, timestamp, checks }));

receiver.close();
console.log(`all ${checks} SDK conformance checks passed`);
process.exit(0);
