using System;
using System.IO;
using System.Runtime.InteropServices;
using MailAccessForensics.Native;
using MailAccessForensics.Tests.TestSupport;
using Xunit;

namespace MailAccessForensics.Tests
{
    public class NativeLibraryLoaderTests
    {
        /// <summary>Runs <paramref name="action"/> with the override variable set to <paramref name="value"/>, then restores it.</summary>
        private static void WithOverride(string value, Action action)
        {
            string saved = Environment.GetEnvironmentVariable(NativeLibraryLoader.OverrideVariable);
            // The library is loaded once per process: load it before the variable changes.
            NativeEngine.EnsureLoaded();
            Environment.SetEnvironmentVariable(NativeLibraryLoader.OverrideVariable, value);
            try
            {
                action();
            }
            finally
            {
                Environment.SetEnvironmentVariable(NativeLibraryLoader.OverrideVariable, saved);
            }
        }

        [Fact]
        public void RuntimeIdentifierNamesTheOsAndTheProcessArchitecture()
        {
            string rid = NativeLibraryLoader.RuntimeIdentifier();
            string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            Assert.StartsWith(os + "-", rid);
            switch (RuntimeInformation.ProcessArchitecture)
            {
                case Architecture.X64: Assert.Equal(os + "-x64", rid); break;
                case Architecture.Arm64: Assert.Equal(os + "-arm64", rid); break;
                case Architecture.X86: Assert.Equal(os + "-x86", rid); break;
                case Architecture.Arm: Assert.Equal(os + "-arm", rid); break;
            }
            // Where .NET itself reports a portable RID, ours is the same (the module's
            // runtimes/<rid>/ folder follows NuGet's names).
            string runtime = RuntimeInformation.RuntimeIdentifier;
            if (!runtime.Contains('.') && !runtime.Contains("musl"))
            {
                Assert.Equal(runtime, rid);
            }
        }

        [Fact]
        public void FileNameIsTheOneCargoBuilds()
        {
            string expected = OperatingSystem.IsWindows() ? "maf_native.dll"
                : OperatingSystem.IsMacOS() ? "libmaf_native.dylib"
                : "libmaf_native.so";
            Assert.Equal(expected, NativeLibraryLoader.FileName());
            // build.ps1 points the variable at cargo's output: the same name.
            Assert.Equal(NativeLibraryLoader.FileName(), Path.GetFileName(NativeEngine.LibraryPath));
        }

        [Fact]
        public void ResolvePathTakesTheOverrideAsAFullPath()
        {
            string absolute = Path.Combine(Path.GetTempPath(), "elsewhere", "libcustom.so");
            WithOverride(absolute, () => Assert.Equal(Path.GetFullPath(absolute), NativeLibraryLoader.ResolvePath()));

            string relative = Path.Combine("relative", "dir", "libcustom.so");
            WithOverride(relative, () =>
            {
                string resolved = NativeLibraryLoader.ResolvePath();
                Assert.True(Path.IsPathRooted(resolved), resolved);
                Assert.Equal(Path.Combine(Environment.CurrentDirectory, relative), resolved);
            });
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        public void ResolvePathWithoutTheOverrideLooksInTheModuleFolder(string value)
        {
            WithOverride(value, () =>
            {
                // <module>/bin/<framework>/MailAccessForensics.dll -> <module>/runtimes/<rid>/native/<file>
                string assemblyDirectory = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location);
                string moduleRoot = Directory.GetParent(assemblyDirectory).Parent.FullName;
                string expected = Path.Combine(moduleRoot, "runtimes", NativeLibraryLoader.RuntimeIdentifier(), "native", NativeLibraryLoader.FileName());
                Assert.Equal(expected, NativeLibraryLoader.ResolvePath());
            });
        }

        [Fact]
        public void EnsureLoadedLoadsTheOverrideAndChecksTheAbiVersion()
        {
            NativeEngine.EnsureLoaded();
            Assert.Equal(Path.GetFullPath(NativeEngine.LibraryPath), NativeLibraryLoader.ResolvedPath);
            Assert.Equal(NativeMethods.MAF_ABI_VERSION, NativeMethods.maf_abi_version());
            NativeLibraryLoader.EnsureLoaded(); // a second call is a no-op
        }
    }
}
