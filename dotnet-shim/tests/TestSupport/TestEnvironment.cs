using System;
using System.Runtime.CompilerServices;
using Xunit;

// Several tests change process-wide state (the override variable, the loaded library): one
// test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MailAccessForensics.Tests.TestSupport
{
    internal static class TestEnvironment
    {
        /// <summary>A zone with a non-whole-hour offset and no daylight saving time.</summary>
        internal const string LocalTimeZone = "Asia/Kolkata";

        /// <summary>
        /// The local time zone is made one that is not UTC before any test runs: with UTC, a
        /// Local DateTime and its UTC value are the same, and a test of the conversion could
        /// not fail. .NET reads TZ when it first needs the local zone.
        /// </summary>
        [ModuleInitializer]
        internal static void UseNonUtcLocalTimeZone()
        {
            Environment.SetEnvironmentVariable("TZ", LocalTimeZone);
            TimeZoneInfo.ClearCachedData();
        }
    }
}
