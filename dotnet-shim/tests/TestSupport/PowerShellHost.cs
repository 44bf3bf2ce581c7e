using System;
using System.Collections.ObjectModel;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Xunit;

namespace MailAccessForensics.Tests.TestSupport
{
    /// <summary>
    /// A real PowerShell 7.6 runspace, to make the objects a pipeline carries: PSCustomObjects,
    /// ordered dictionaries, script properties, ConvertFrom-Json output.
    /// </summary>
    internal static class PowerShellHost
    {
        private static readonly Lazy<Runspace> Shared = new Lazy<Runspace>(() =>
        {
            Runspace runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault());
            runspace.Open();
            return runspace;
        });

        internal static Runspace Runspace => Shared.Value;

        /// <summary>
        /// Runs a script and returns its output; a script error fails the test.
        /// <paramref name="variables"/> are name, value pairs set as variables first.
        /// </summary>
        internal static Collection<PSObject> Run(string script, params object[] variables)
        {
            for (int i = 0; i + 1 < variables.Length; i += 2)
            {
                Runspace.SessionStateProxy.SetVariable((string)variables[i], variables[i + 1]);
            }
            using (PowerShell shell = PowerShell.Create())
            {
                shell.Runspace = Runspace;
                shell.AddScript(script);
                Collection<PSObject> output = shell.Invoke();
                if (shell.HadErrors)
                {
                    Assert.Fail("the test's script failed: " + string.Join("; ", shell.Streams.Error.Select(e => e.ToString())));
                }
                return output;
            }
        }

        /// <summary>Runs a script that outputs one object, and returns it.</summary>
        internal static PSObject One(string script, params object[] variables)
        {
            Collection<PSObject> output = Run(script, variables);
            Assert.True(output.Count == 1, $"the script output {output.Count} objects, not 1");
            return output[0];
        }

        /// <summary>
        /// Runs <paramref name="action"/> with the runspace as the thread's default, as the
        /// cmdlet runs on the pipeline thread: script properties need a runspace to run in.
        /// </summary>
        internal static void OnPipelineThread(Action action)
        {
            Runspace previous = Runspace.DefaultRunspace;
            Runspace.DefaultRunspace = Runspace;
            try
            {
                action();
            }
            finally
            {
                Runspace.DefaultRunspace = previous;
            }
        }
    }
}
