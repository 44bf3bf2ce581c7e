using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Runtime.InteropServices;
using MailAccessForensics.Native;

namespace MailAccessForensics.Commands
{
    /// <summary>
    /// Base of the analysis cmdlets: the filters of the original commands, and the results the
    /// engine computes once every record was read.
    /// </summary>
    public abstract class MailAccessAnalysisCommand : MailAccessInputCommand
    {
        /// <summary>
        /// Only records at or after this time. As with Search-UnifiedAuditLog, a date without a
        /// time is midnight and a time without a zone is UTC; a local [datetime] (Get-Date) is
        /// converted to UTC.
        /// </summary>
        [Parameter]
        public DateTime StartDate { get; set; }

        /// <summary>Only records before this time (same rules as -StartDate).</summary>
        [Parameter]
        public DateTime EndDate { get; set; }

        /// <summary>Only records of these mailboxes (MailboxOwnerUPN; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Mailbox { get; set; }

        /// <summary>Only records of these acting users (UserId; wildcards allowed).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? UserIds { get; set; }

        /// <summary>The engine's name for the analysis.</summary>
        private protected abstract AnalysisName AnalysisName { get; }

        /// <summary>Options particular to the analysis.</summary>
        private protected virtual void AddAnalysisOptions(IDictionary options)
        {
        }

        private protected bool IsBound(string parameter) => MyInvocation.BoundParameters.ContainsKey(parameter);

        private protected sealed override void AddSessionOptions(IDictionary options)
        {
            options["Analysis"] = AnalysisName.ToString();
            if (IsBound(nameof(StartDate)))
            {
                options["StartDate"] = StartDate;
            }
            if (IsBound(nameof(EndDate)))
            {
                options["EndDate"] = EndDate;
            }
            if (Mailbox != null)
            {
                options["Mailbox"] = Mailbox;
            }
            if (UserIds != null)
            {
                options["UserIds"] = UserIds;
            }
            AddAnalysisOptions(options);
        }

        private protected sealed override void OnInputComplete(SessionHandle session, InputSummary summary)
        {
            AnalysisHandle analysis;
            try
            {
                analysis = AnalysisHandle.Finish(session);
            }
            catch (NativeCallException e)
            {
                ThrowEngineError(e);
                return;
            }
            // The rows are written while the engine's are alive; freed however the writing ends
            // (Select-Object -First and Ctrl+C stop the pipeline by throwing through WriteObject).
            using (analysis)
            {
                string[] warnings = analysis.Warnings();
                foreach (string warning in warnings)
                {
                    Log.AddWarning(warning);
                }
                WriteResults(analysis, warnings, summary);
            }
        }

        /// <summary>Writes the warnings, then each result as it is read, in the engine's order.</summary>
        private protected virtual void WriteResults(AnalysisHandle analysis, string[] warnings, InputSummary summary)
        {
            foreach (string warning in warnings)
            {
                WriteWarning(warning);
            }
            analysis.Read(FileName, WriteObject);
        }

        /// <summary>Parameters that are not described in a run: the records themselves.</summary>
        private static readonly HashSet<string> NotRunParameters = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { nameof(InputObject) };

        /// <summary>
        /// The run as it ends: its parameters, period, inputs, accounting, warnings, errors,
        /// versions, host, user and times.
        /// </summary>
        private protected MailAccessRun CompleteRun(InputSummary summary, int findingCount)
        {
            var parameters = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
            foreach (KeyValuePair<string, object> bound in MyInvocation.BoundParameters)
            {
                if (!NotRunParameters.Contains(bound.Key))
                {
                    parameters[bound.Key] = AsRunValue(bound.Value);
                }
            }
            var run = new MailAccessRun
            {
                Id = Guid.NewGuid().ToString(),
                Command = MyInvocation.MyCommand.Name,
                Parameters = parameters,
                PeriodStart = IsBound(nameof(StartDate)) ? AsEngineReadsIt(StartDate) : (DateTime?)null,
                PeriodEnd = IsBound(nameof(EndDate)) ? AsEngineReadsIt(EndDate) : (DateTime?)null,
                Inputs = Log.Inputs(summary),
                Summary = summary,
                Warnings = new List<string>(Log.Warnings).ToArray(),
                ErrorMessages = new List<string>(Log.Errors).ToArray(),
                FindingCount = findingCount,
                ModuleVersion = typeof(MailAccessAnalysisCommand).Assembly.GetName().Version?.ToString(3) ?? string.Empty,
                EngineVersion = NativeCall.EngineVersion(),
                PowerShellVersion = PowerShellVersion(),
                OperatingSystem = RuntimeInformation.OSDescription.Trim(),
                Host = Environment.MachineName,
                User = string.IsNullOrEmpty(Environment.UserDomainName) ? Environment.UserName : $"{Environment.UserDomainName}\\{Environment.UserName}",
                StartTime = Log.StartTime,
                EndTime = DateTime.UtcNow,
            };
            DescribeRun(run);
            return run;
        }

        /// <summary>What the analysis adds to its run (the verdict: indicators and expansion).</summary>
        private protected virtual void DescribeRun(MailAccessRun run)
        {
        }

        /// <summary>A date as the engine reads it: a local time converted, any other taken as UTC.</summary>
        private static DateTime AsEngineReadsIt(DateTime value)
        {
            return value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);
        }

        /// <summary>A bound value as plain data: switches as booleans, lists as text arrays.</summary>
        private static object? AsRunValue(object? value)
        {
            object? raw = value is PSObject pso ? pso.BaseObject : value;
            switch (raw)
            {
                case null: return null;
                case SwitchParameter s: return s.IsPresent;
                case string text: return text;
                case DateTime date: return date;
                case bool b: return b;
                case System.Collections.IEnumerable list:
                    var items = new List<string?>();
                    foreach (object? item in list)
                    {
                        items.Add(item?.ToString());
                    }
                    return items.ToArray();
                default: return raw.ToString();
            }
        }

        private string? PowerShellVersion()
        {
            if (SessionState.PSVariable.GetValue("PSVersionTable") is Hashtable table)
            {
                return $"{table["PSVersion"]} ({table["PSEdition"] ?? "Desktop"})";
            }
            return null;
        }
    }
}
