using System;
using System.Collections.Specialized;
using MailAccessForensics.Native;

namespace MailAccessForensics
{
    /// <summary>
    /// The accounting of one command: every record read was analysed, skipped (another
    /// operation), a duplicate, outside the filters, or an error.
    /// Read = Analysed + Skipped + Duplicates + Filtered + Errors.
    /// </summary>
    [ReportedAsObject]
    public sealed class InputSummary
    {
        internal InputSummary()
        {
        }

        public long Read { get; internal set; }
        public long Analysed { get; internal set; }
        public long Skipped { get; internal set; }
        public long Duplicates { get; internal set; }
        public long Filtered { get; internal set; }
        public long Errors { get; internal set; }
        /// <summary>Analysed records an earlier tool had degraded (part of Analysed).</summary>
        public long Degraded { get; internal set; }
        public long Throttled { get; internal set; }
        public long NotThrottled { get; internal set; }
        /// <summary>Analysed records that do not say whether they were throttled.</summary>
        public long ThrottlingUnknown { get; internal set; }
        /// <summary>Skipped records by operation name.</summary>
        public OrderedDictionary SkippedOperations { get; internal set; } = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
        /// <summary>
        /// The input may be truncated (a query cut at a page or session limit, an export of the
        /// largest size, an incomplete collection): an answer over it may miss what the missing
        /// records held.
        /// </summary>
        public bool PossiblyTruncated { get; internal set; }
        /// <summary>Why the input may be truncated, one sentence per reason; null when it is not.</summary>
        public string? TruncationReason { get; internal set; }

        /// <summary>
        /// True when the counts add up (they always should), by the engine's rule: the engine's
        /// answer when it made the summary, so that reading it (a format view, a deserialized
        /// summary, a report) never needs the native library. False for a summary the engine did not make.
        /// </summary>
        public bool IsBalanced { get; internal set; }

        /// <summary>Asks the engine whether these counts add up (its one rule, Tally::is_balanced).</summary>
        internal bool CountsAddUp()
        {
            // Model objects are made in tests too, before any command loaded the library.
            NativeLibraryLoader.EnsureLoaded();
            return NativeMethods.maf_tally_is_balanced(
                unchecked((ulong)Read), unchecked((ulong)Analysed), unchecked((ulong)Skipped), unchecked((ulong)Duplicates),
                unchecked((ulong)Filtered), unchecked((ulong)Errors), unchecked((ulong)Throttled), unchecked((ulong)NotThrottled),
                unchecked((ulong)ThrottlingUnknown), unchecked((ulong)SkippedByOperation())) == NativeMethods.MAF_TRUE;
        }

        // The skipped records counted by operation (the engine's third rule compares them with Skipped).
        private long SkippedByOperation()
        {
            long sum = 0;
            if (SkippedOperations != null)
            {
                foreach (object count in SkippedOperations.Values)
                {
                    sum += Convert.ToInt64(count, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            return sum;
        }

        public override string ToString()
        {
            return $"Read {Read}: analysed {Analysed} (degraded {Degraded}; throttled {Throttled}, not throttled {NotThrottled}, unknown {ThrottlingUnknown}), " +
                $"skipped {Skipped} of other operations, duplicates {Duplicates}, outside the filters {Filtered}, errors {Errors}" +
                (PossiblyTruncated ? "; possibly truncated" : "");
        }
    }
}
