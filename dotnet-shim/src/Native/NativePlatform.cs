using System.IO;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>The operating systems whose native libraries are told apart.</summary>
    internal enum NativeOS
    {
        Windows,
        MacOS,
        Linux,
        FreeBSD,
        Other,
    }

    /// <summary>
    /// What decides which build of maf_native a process can load: its operating system, its own
    /// architecture (an x64 pwsh emulated on arm64 needs the x64 library) and, on Linux, the C
    /// library. The loader asks <see cref="Current"/>; tests construct any platform.
    /// </summary>
    internal readonly struct NativePlatform
    {
        internal NativePlatform(NativeOS os, Architecture architecture, bool isMusl = false)
        {
            OS = os;
            Architecture = architecture;
            IsMusl = isMusl;
        }

        internal NativeOS OS { get; }
        internal Architecture Architecture { get; }

        /// <summary>Linux with musl (Alpine): a glibc build does not load there.</summary>
        internal bool IsMusl { get; }

        internal static NativePlatform Current =>
            new NativePlatform(CurrentOS(), RuntimeInformation.ProcessArchitecture, CurrentIsMusl());

        /// <summary>The NuGet runtime identifier the module's runtimes/ folder uses: win-x64, osx-arm64, linux-musl-x64...</summary>
        internal string RuntimeIdentifier
        {
            get
            {
                string os;
                switch (OS)
                {
                    case NativeOS.Windows: os = "win"; break;
                    case NativeOS.MacOS: os = "osx"; break;
                    case NativeOS.Linux: os = IsMusl ? "linux-musl" : "linux"; break;
                    case NativeOS.FreeBSD: os = "freebsd"; break;
                    default: os = "unknown"; break;
                }
                return os + "-" + ArchitectureName(Architecture);
            }
        }

        /// <summary>The file cargo builds for the OS: no prefix and .dll on Windows, lib and .dylib or .so elsewhere.</summary>
        internal string LibraryFileName
        {
            get
            {
                switch (OS)
                {
                    case NativeOS.Windows: return "maf_native.dll";
                    case NativeOS.MacOS: return "libmaf_native.dylib";
                    default: return "libmaf_native.so";
                }
            }
        }

        /// <summary>Where the library sits below the module folder: runtimes/&lt;rid&gt;/native/&lt;file&gt;.</summary>
        internal string RelativePath => Path.Combine("runtimes", RuntimeIdentifier, "native", LibraryFileName);

        public override string ToString() => RuntimeIdentifier;

        private static string ArchitectureName(Architecture architecture)
        {
            switch (architecture)
            {
                case Architecture.X64: return "x64";
                case Architecture.X86: return "x86";
                case Architecture.Arm64: return "arm64";
                case Architecture.Arm: return "arm";
                // Newer .NET names (s390x, ppc64le, loongarch64, riscv64) are NuGet's names too.
                default: return architecture.ToString().ToLowerInvariant();
            }
        }

        private static NativeOS CurrentOS()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) return NativeOS.Windows;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX)) return NativeOS.MacOS;
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return NativeOS.Linux;
            // (OSPlatform.FreeBSD is missing from .NET Framework's reference assemblies.)
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Create("FREEBSD"))) return NativeOS.FreeBSD;
            return NativeOS.Other;
        }

        private static bool CurrentIsMusl()
        {
#if NETFRAMEWORK
            return false;
#else
            // .NET reports the RID it was built for: linux-musl-x64 on Alpine.
            return RuntimeInformation.RuntimeIdentifier.Contains("-musl");
#endif
        }
    }
}
