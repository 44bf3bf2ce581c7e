using System;
using System.Collections.Specialized;

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
        public OrderedDictionary SkippedOperations { get; internal set; }
        /// <summary>
        /// The input may be truncated (a query cut at a page or session limit, an export of the
        /// largest size, an incomplete collection): an answer over it may miss what the missing
        /// records held.
        /// </summary>
        public bool PossiblyTruncated { get; internal set; }
        /// <summary>Why the input may be truncated, one sentence per reason; null when it is not.</summary>
        public string TruncationReason { get; internal set; }

        /// <summary>True when the counts add up (they always should).</summary>
        public bool IsBalanced => Read == Analysed + Skipped + Duplicates + Filtered + Errors
            && Analysed == Throttled + NotThrottled + ThrottlingUnknown
            && Skipped == SkippedByOperation();

        // The engine's third rule (tally.rs is_balanced): the skipped records are those counted by operation.
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
