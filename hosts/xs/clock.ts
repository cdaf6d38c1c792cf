/**
 * The monotonic µs clock from Moddable's `time` module. Time.microseconds (esp_timer on ESP32)
 * is used where the platform has it; elsewhere Time.ticks (ms, 32-bit on devices, so it wraps
 * after ~49.7 days) is extended into an ever-growing µs count with Time.delta, which is
 * wrap-safe. Either way the value never steps back.
 */
import Time from 'time';

export class MonotonicClock {
  private readonly hasMicroseconds = typeof Time.microseconds === 'number';
  private lastTicks = Time.ticks;
  private extendedUs = 0;

  nowUs(): number {
    if (this.hasMicroseconds) return Math.floor(Time.microseconds as number);
    const t = Time.ticks;
    this.extendedUs += Time.delta(this.lastTicks, t) * 1000;
    this.lastTicks = t;
    return this.extendedUs;
  }
}
