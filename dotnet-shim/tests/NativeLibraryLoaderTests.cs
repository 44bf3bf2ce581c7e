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
        /// <summary>A module folder laid out as build.ps1 lays it, with native libraries for <paramref name="runtimes"/>.</summary>
        private static string NewModuleFolder(params string[] runtimes)
        {
            string root = Path.Combine(Path.GetTempPath(), "maf-loader-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.Combine(root, "bin", "net8.0"));
            foreach (string rid in runtimes)
            {
                Directory.CreateDirectory(Path.Combine(root, "runtimes", rid, "native"));
            }
            return root;
        }

        // Every platform the package ships, and what the loader picks there: NuGet's runtime
        // identifiers and the files cargo builds on each OS. (The OS by name: the enum is
        // internal to the shim.)
        [Theory]
        [InlineData("Windows", Architecture.X64, "win-x64", "maf_native.dll")]
        [InlineData("Windows", Architecture.Arm64, "win-arm64", "maf_native.dll")]
        [InlineData("MacOS", Architecture.X64, "osx-x64", "libmaf_native.dylib")]
        [InlineData("MacOS", Architecture.Arm64, "osx-arm64", "libmaf_native.dylib")]
        [InlineData("Linux", Architecture.X64, "linux-x64", "libmaf_native.so")]
        [InlineData("Linux", Architecture.Arm64, "linux-arm64", "libmaf_native.so")]
        public void EachPackagedPlatformLoadsItsOwnLibraryFromTheModuleFolder(string osName, Architecture architecture, string rid, string file)
        {
            var platform = new NativePlatform(Enum.Parse<NativeOS>(osName), architecture);
            Assert.Equal(rid, platform.RuntimeIdentifier);
            Assert.Equal(file, platform.LibraryFileName);

            string assemblyDirectory = Path.Combine(Path.GetTempPath(), "Modules", "MailAccessForensics", "0.1.0", "bin", "net8.0");
            string moduleRoot = Path.Combine(Path.GetTempPath(), "Modules", "MailAccessForensics", "0.1.0");
            Assert.Equal(Path.Combine(moduleRoot, "runtimes", rid, "native", file), NativeLibraryLoader.ResolvePath(platform, null, assemblyDirectory));
            Assert.Equal(Path.Combine(moduleRoot, "runtimes", rid, "native", file), NativeLibraryLoader.ResolvePath(platform, "", assemblyDirectory));
        }

        // Platforms the package does not ship get a name of their own, never another platform's
        // library: the import then fails saying so, instead of loading a wrong binary.
        [Theory]
        [InlineData("Windows", Architecture.X86, false, "win-x86")]        // 32-bit Windows PowerShell
        [InlineData("Linux", Architecture.X64, true, "linux-musl-x64")]    // Alpine
        [InlineData("Linux", Architecture.Arm, false, "linux-arm")]
        [InlineData("FreeBSD", Architecture.X64, false, "freebsd-x64")]
        public void OtherPlatformsAreNamedApart(string osName, Architecture architecture, bool musl, string rid)
        {
            Assert.Equal(rid, new NativePlatform(Enum.Parse<NativeOS>(osName), architecture, musl).RuntimeIdentifier);
        }

        [Fact]
        public void MuslMattersOnlyOnLinux()
        {
            Assert.Equal("linux-arm64", new NativePlatform(NativeOS.Linux, Architecture.Arm64, false).RuntimeIdentifier);
            Assert.Equal("linux-musl-arm64", new NativePlatform(NativeOS.Linux, Architecture.Arm64, true).RuntimeIdentifier);
            Assert.Equal("osx-arm64", new NativePlatform(NativeOS.MacOS, Architecture.Arm64, true).RuntimeIdentifier);
        }

        [Fact]
        public void CurrentPlatformIsThisProcess()
        {
            NativePlatform current = NativePlatform.Current;
            NativeOS os = OperatingSystem.IsWindows() ? NativeOS.Windows : OperatingSystem.IsMacOS() ? NativeOS.MacOS : NativeOS.Linux;
            Assert.Equal(os, current.OS);
            Assert.Equal(RuntimeInformation.ProcessArchitecture, current.Architecture);
            // .NET's own RID for the process (portable since .NET 8) is the same name.
            Assert.Equal(RuntimeInformation.RuntimeIdentifier, current.RuntimeIdentifier);
            // build.ps1 points the variable at cargo's output: the file the loader expects.
            Assert.Equal(current.LibraryFileName, Path.GetFileName(NativeEngine.LibraryPath));
        }

        [Fact]
        public void MissingLibraryMessageListsThePlatformsTheFolderHas()
        {
            string root = NewModuleFolder("win-x64", "linux-x64");
            try
            {
                var platform = new NativePlatform(NativeOS.MacOS, Architecture.Arm64);
                string assemblyDirectory = Path.Combine(root, "bin", "net8.0");
                string path = NativeLibraryLoader.ResolvePath(platform, null, assemblyDirectory);
                string message = NativeLibraryLoader.MissingLibraryMessage(platform, path, null, assemblyDirectory);
                Assert.Contains($"'{path}'", message);
                Assert.Contains("(osx-arm64)", message);
                Assert.Contains("native libraries for linux-x64, win-x64 only", message);
                Assert.Contains("./build.ps1 Build", message);
            }
            finally
            {
                Directory.Delete(root, true);
            }
        }

        [Fact]
        public void MissingLibraryMessageSaysWhenTheFolderHasNone()
        {
            string root = NewModuleFolder();
            try
            {
                var platform = new NativePlatform(NativeOS.Windows, Architecture.X64);
                string assemblyDirectory = Path.Combine(root, "bin", "net8.0");
                string message = NativeLibraryLoader.MissingLibraryMessage(platform, "x", null, assemblyDirectory);
                Assert.Contains("(win-x64): it has no native library at all", message);
            }
            finally
            {
                Directory.Delete(root, true);
            }
        }

        [Fact]
        public void MissingLibraryMessageSaysWhenThePlatformFolderIsIncomplete()
        {
            string root = NewModuleFolder("linux-arm64");
            try
            {
                var platform = new NativePlatform(NativeOS.Linux, Architecture.Arm64);
                string assemblyDirectory = Path.Combine(root, "bin", "net8.0");
                string message = NativeLibraryLoader.MissingLibraryMessage(platform, "x", null, assemblyDirectory);
                Assert.Contains("incomplete for this platform (linux-arm64): runtimes/linux-arm64 has no libmaf_native.so", message);
                Assert.DoesNotContain("does not support", message);
            }
            finally
            {
                Directory.Delete(root, true);
            }
        }

        [Fact]
        public void MissingOverrideMessageNamesTheVariable()
        {
            var platform = new NativePlatform(NativeOS.Linux, Architecture.X64);
            string message = NativeLibraryLoader.MissingLibraryMessage(platform, "/nowhere/libmaf_native.so", "/nowhere/libmaf_native.so", Path.GetTempPath());
            Assert.Contains("'/nowhere/libmaf_native.so'", message);
            Assert.Contains(NativeLibraryLoader.OverrideVariable + " names it", message);
        }

        [Fact]
        public void ResolvePathTakesTheOverrideAsAFullPath()
        {
            var platform = NativePlatform.Current;
            string absolute = Path.Combine(Path.GetTempPath(), "elsewhere", "libcustom.so");
            Assert.Equal(Path.GetFullPath(absolute), NativeLibraryLoader.ResolvePath(platform, absolute, NativeLibraryLoader.AssemblyDirectory));

            string relative = Path.Combine("relative", "dir", "libcustom.so");
            string resolved = NativeLibraryLoader.ResolvePath(platform, relative, NativeLibraryLoader.AssemblyDirectory);
            Assert.True(Path.IsPathRooted(resolved), resolved);
            Assert.Equal(Path.Combine(Environment.CurrentDirectory, relative), resolved);
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        public void ResolvePathWithoutTheOverrideLooksInThisAssemblysModuleFolder(string? value)
        {
            // <module>/bin/<framework>/MailAccessForensics.dll -> <module>/runtimes/<rid>/native/<file>
            string moduleRoot = Directory.GetParent(NativeLibraryLoader.AssemblyDirectory)?.Parent?.FullName ?? throw new InvalidOperationException("The assembly is not two folders below the module root.");
            NativePlatform current = NativePlatform.Current;
            string expected = Path.Combine(moduleRoot, "runtimes", current.RuntimeIdentifier, "native", current.LibraryFileName);
            Assert.Equal(expected, NativeLibraryLoader.ResolvePath(current, value, NativeLibraryLoader.AssemblyDirectory));
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
