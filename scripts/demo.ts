/**
 * The main job in miniature: load the scripts into a Redis (REDIS_URL, or a throwaway
 * redis-server started here), compute ATR(14) and VWAP with bands for a sample BANKNIFTY session
 * of 5-minute bars, show a second call answered from the DB 10 cache, and check both against
 * the decimal.js reference.
 */
import { MathDispatcher, atrReference, startLocalRedis, vwapOfBars, type LocalRedisServer } from "../src/index.js";
import { describeError, stackOf } from "../src/cli/cliErrors.js";
import { sampleSession as loadSample } from "../examples/shared.js";

/** The sample session of examples/data: 75 five-minute bars from 09:15 IST on the 0.05 grid. */
const sampleSession = () => loadSample().updates;

async function main() {
  let server: LocalRedisServer | undefined;
  const url = process.env.REDIS_URL ?? (server = await startLocalRedis()).url;
  console.log(server ? `started a throwaway redis-server at ${url}` : `using REDIS_URL ${url}`);
  const dispatcher = MathDispatcher.connect(url);
  try {
    await dispatcher.load();
    for (const script of dispatcher.runner.scripts) console.log(`loaded ${script.name}@${script.version} sha1 ${script.sha1}`);

    const bars = sampleSession();
    const atr = await dispatcher.atr({ symbol: "BANKNIFTY", period: 14, bars });
    const vwap = await dispatcher.vwap({ symbol: "BANKNIFTY", bars, bands: [1, 2] });
    const again = await dispatcher.atr({ symbol: "BANKNIFTY", period: 14, bars });

    console.log(`\nBANKNIFTY, ${bars.length} five-minute bars, last close ${bars.at(-1)!.close}`);
    console.log(`ATR(14)  ${atr.atr}   NATR ${atr.natr.toFixed(4)} %   (cache ${atr.cache}, then ${again.cache})`);
    console.log(`VWAP     ${vwap.vwap}   sigma ${vwap.sigma}   volume ${vwap.volume}`);
    for (const band of vwap.bands) console.log(`  ${band.k} sigma band  ${band.lower.toFixed(2)} .. ${band.upper.toFixed(2)}`);

    const atrRef = atrReference(bars, 14).atr;
    const vwapRef = vwapOfBars(bars).vwap;
    const relative = (x: number, ref: typeof atrRef) => ref.minus(x).abs().div(ref).toExponential(2);
    console.log(`\nrelative difference to the decimal.js reference: ATR ${relative(atr.atr, atrRef)}, VWAP ${relative(vwap.vwap, vwapRef)}`);
  } finally {
    await dispatcher.close();
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  // one line naming the server and the cause; the stack only when asked for
  console.error(`demo failed: ${describeError(error, process.env.REDIS_URL)}`);
  if (process.argv.includes("--verbose")) console.error(stackOf(error));
  else console.error("(npm run demo -- --verbose shows the stack)");
  process.exit(1);
});
