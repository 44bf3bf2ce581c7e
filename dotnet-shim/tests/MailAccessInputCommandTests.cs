using System.Collections.Specialized;
using System.Globalization;
using MailAccessForensics.Commands;
using MailAccessForensics.Native;
using MailAccessForensics.Tests.TestSupport;
using Xunit;

namespace MailAccessForensics.Tests
{
    public class MailAccessInputCommandTests
    {
        [Theory]
        [InlineData("en-US", false)] // M/d/yyyy
        [InlineData("en-GB", true)]  // dd/MM/yyyy
        [InlineData("de-DE", true)]  // dd.MM.yyyy
        [InlineData("ja-JP", false)] // yyyy/MM/dd
        public void CultureWritesDayFirst(string name, bool dayFirst)
        {
            var culture = CultureInfo.GetCultureInfo(name);
            Assert.False(CultureInfo.InvariantCulture.Equals(culture), $"{name} is not available (invariant globalization mode?)");
            Assert.True(dayFirst == MailAccessInputCommand.CultureWritesDayFirst(culture),
                $"{name}: short date pattern '{culture.DateTimeFormat.ShortDatePattern}'");
        }

        [Fact]
        public void CultureWritesDayFirstReadsTheShortDatePattern()
        {
            var culture = (CultureInfo)CultureInfo.GetCultureInfo("en-US").Clone();
            culture.DateTimeFormat.ShortDatePattern = "dd-MM-yyyy";
            Assert.True(MailAccessInputCommand.CultureWritesDayFirst(culture));
            culture.DateTimeFormat.ShortDatePattern = "yyyy-MM-dd";
            Assert.False(MailAccessInputCommand.CultureWritesDayFirst(culture));
        }

        private static InputSummary Summary(long read, long analysed, long skipped, long duplicates, long filtered, long errors,
            long throttled, long notThrottled, long unknown) => new InputSummary
            {
                Read = read,
                Analysed = analysed,
                Skipped = skipped,
                Duplicates = duplicates,
                Filtered = filtered,
                Errors = errors,
                Throttled = throttled,
                NotThrottled = notThrottled,
                ThrottlingUnknown = unknown,
                SkippedOperations = skipped == 0 ? new OrderedDictionary() : new OrderedDictionary { { "Send", skipped } },
            };

        [Fact]
        public void InputSummaryIsNotBalancedWhenTheSkippedByOperationDifferFromTheSkipped()
        {
            // The engine's third rule (tally.rs), which the shim once lacked.
            InputSummary summary = Summary(15, 6, 4, 2, 1, 2, 1, 2, 3);
            summary.SkippedOperations = new OrderedDictionary { { "Send", 3L } };
            Assert.False(summary.CountsAddUp());
            summary.SkippedOperations = new OrderedDictionary { { "Send", 3L }, { "New-InboxRule", 1UL } };
            Assert.True(summary.CountsAddUp());
            // No count by operation: the skipped records are not accounted for by operation.
            summary.SkippedOperations = new OrderedDictionary();
            Assert.False(summary.CountsAddUp());
        }

        [Fact]
        public void InputSummaryIsBalancedWhenBothSumsAddUp()
        {
            Assert.True(Summary(0, 0, 0, 0, 0, 0, 0, 0, 0).CountsAddUp());
            Assert.True(Summary(15, 6, 4, 2, 1, 2, 1, 2, 3).CountsAddUp());
        }

        [Theory]
        [InlineData(16, 6, 4, 2, 1, 2, 1, 2, 3)] // a record read but not accounted for
        [InlineData(15, 6, 5, 2, 1, 2, 1, 2, 3)] // one counted twice
        [InlineData(15, 6, 4, 2, 1, 2, 1, 2, 2)] // an analysed record missing from the throttling split
        [InlineData(15, 6, 4, 2, 1, 2, 2, 2, 3)] // one counted in the split twice
        public void InputSummaryIsNotBalancedWhenASumIsOff(long read, long analysed, long skipped, long duplicates, long filtered,
            long errors, long throttled, long notThrottled, long unknown)
        {
            Assert.False(Summary(read, analysed, skipped, duplicates, filtered, errors, throttled, notThrottled, unknown).CountsAddUp());
        }

        [Fact]
        public void TheEnginesTallyIsBalanced()
        {
            string otherOperation = "{\"CreationTime\":\"2024-03-01T12:34:56\",\"Id\":\"other-1\",\"Operation\":\"Send\"}";
            IngestOutcome outcome = NativeEngine.Ingest(
                Samples.AuditDataJson("a"),
                Samples.AuditDataJson("a"),
                Samples.AuditDataJson("b"),
                otherOperation,
                "not json",
                42);
            InputSummary summary = outcome.Summary;
            Assert.Equal(6, summary.Read);
            Assert.Equal(2, summary.Analysed);
            Assert.Equal(1, summary.Duplicates);
            Assert.Equal(1, summary.Skipped);
            Assert.Equal(2, summary.Errors);
            Assert.Equal(2, summary.NotThrottled);
            Assert.Equal(1L, summary.SkippedOperations["Send"]);
            Assert.True(summary.IsBalanced, summary.ToString());
        }

        [Fact]
        public void IsBalancedIsTheEnginesAnswerWhenItMadeTheSummary()
        {
            // Reading IsBalanced calls nothing: it is the answer the engine gave for the counts
            // it made the summary with (a format view or a deserialized summary loads no library).
            InputSummary summary = NativeEngine.Ingest(Samples.AuditDataJson("a")).Summary;
            Assert.True(summary.IsBalanced, summary.ToString());
            summary.Read++;
            Assert.True(summary.IsBalanced);
            Assert.False(summary.CountsAddUp());
            // A summary the engine did not make has no answer from it.
            Assert.False(Summary(0, 0, 0, 0, 0, 0, 0, 0, 0).IsBalanced);
        }
    }
}
