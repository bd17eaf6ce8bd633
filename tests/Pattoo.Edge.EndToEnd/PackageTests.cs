namespace Pattoo.Edge.EndToEnd;

/// <summary>
/// The Debian package built from the published binary (packaging/build-deb.sh, as
/// <c>./build.sh package</c> builds it): its fields, files, conffile, unit and maintainer
/// scripts, and lintian's verdict (no error or warning; the overrides are explained in
/// packaging/README.md).
/// </summary>
public class PackageTests
{
    [Fact]
    public async Task ThePackageHoldsWhatAGatewayNeedsAndLintianAcceptsIt()
    {
        string dir = Path.Combine(Path.GetTempPath(), "pattoo-edge-deb-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "x64";
            string version = File.ReadAllText(Path.Combine(EndToEndSupport.RepoRoot, "VERSION")).Trim();
            var (code, output) = await Run(Path.Combine(EndToEndSupport.RepoRoot, "packaging", "build-deb.sh"), arch, EdgeProcess.Binary, dir);
            Assert.True(code == 0, output);
            string deb = output.Trim();
            Assert.Equal(Path.Combine(dir, $"pattoo-edge_{version}_{(arch == "x64" ? "amd64" : "arm64")}.deb"), deb);

            var (_, info) = await Run("dpkg-deb", "-f", deb);
            Assert.Contains("Package: pattoo-edge\n", info);
            Assert.Contains($"Version: {version}\n", info);
            Assert.Contains("Depends: libc6 (>= 2.34), libssl3\n", info);

            var (_, files) = await Run("dpkg-deb", "-c", deb);
            foreach (var path in new[] { "./usr/bin/pattoo-edge", "./lib/systemd/system/pattoo-edge.service", "./etc/pattoo-edge/edge.toml",
                         "./usr/share/doc/pattoo-edge/copyright", "./usr/share/man/man1/pattoo-edge.1.gz" })
                Assert.Contains(" " + path + "\n", files.Replace("\r", ""));
            Assert.Contains("-rwxr-xr-x root/root", files.Split('\n').Single(l => l.EndsWith("./usr/bin/pattoo-edge", StringComparison.Ordinal)));

            string tree = Path.Combine(dir, "tree"), control = Path.Combine(dir, "control");
            Assert.Equal(0, (await Run("dpkg-deb", "-x", deb, tree)).Code);
            Assert.Equal(0, (await Run("dpkg-deb", "-e", deb, control)).Code);
            Assert.Equal("/etc/pattoo-edge/edge.toml\n", File.ReadAllText(Path.Combine(control, "conffiles")));
            // The conffile is the embedded default: the binary in the package accepts it.
            Assert.Equal(File.ReadAllText(Path.Combine(EndToEndSupport.RepoRoot, "src", "Pattoo.Edge.Host", "default.toml")), File.ReadAllText(Path.Combine(tree, "etc", "pattoo-edge", "edge.toml")));
            var (checkCode, checkOutput) = await Run(Path.Combine(tree, "usr", "bin", "pattoo-edge"), "config", "check", Path.Combine(tree, "etc", "pattoo-edge", "edge.toml"));
            Assert.True(checkCode == 0, checkOutput);
            string unit = File.ReadAllText(Path.Combine(tree, "lib", "systemd", "system", "pattoo-edge.service"));
            Assert.Contains("ExecStart=/usr/bin/pattoo-edge run --config /etc/pattoo-edge/edge.toml", unit);
            Assert.DoesNotContain("/usr/local/bin", unit);
            Assert.Contains("StateDirectory=pattoo-edge", unit);
            foreach (var script in new[] { "postinst", "prerm", "postrm" })
            {
                var (syntax, says) = await Run("sh", "-n", Path.Combine(control, script));
                Assert.True(syntax == 0, $"{script}: {says}");
            }
            string postinst = File.ReadAllText(Path.Combine(control, "postinst")), postrm = File.ReadAllText(Path.Combine(control, "postrm"));
            Assert.Contains("deb-systemd-invoke restart pattoo-edge.service", postinst); // honours policy-rc.d
            Assert.Contains("rm -rf /etc/pattoo-edge", postrm.Split("purge)")[1]); // only on purge: data stays on remove
            Assert.DoesNotContain("rm -rf", postrm.Split("purge)")[0]);

            Assert.True(File.Exists("/usr/bin/lintian"), "lintian is missing: apt-get install lintian (./build.sh test installs it)");
            var (_, verdict) = await Run("lintian", "--no-tag-display-limit", deb);
            var problems = verdict.Split('\n').Where(l => l.StartsWith("E:", StringComparison.Ordinal) || l.StartsWith("W:", StringComparison.Ordinal)).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task InstallAndUninstallSayWhatTheyDidAndAreIdempotent()
    {
        string root = Path.Combine(Path.GetTempPath(), "pattoo-edge-root-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            var (code, said) = await Run(EdgeProcess.Binary, "install", "--root", root);
            Assert.True(code == 0, said);
            Assert.Contains("usr/local/bin/pattoo-edge: installed pattoo-edge", said);
            Assert.Contains("pattoo-edge.service: wrote the systemd unit", said);
            Assert.Contains("edge.toml: wrote the default configuration", said);
            Assert.Contains("var/lib/pattoo-edge: created", said);
            Assert.Contains("systemd: left alone (--root)", said);
            string binary = Path.Combine(root, "usr", "local", "bin", "pattoo-edge"), config = Path.Combine(root, "etc", "pattoo-edge", "edge.toml");
            Assert.Equal(File.ReadAllBytes(EdgeProcess.Binary), File.ReadAllBytes(binary));
            Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(binary).HasFlag(UnixFileMode.UserExecute | UnixFileMode.OtherExecute));
            Assert.Equal(File.ReadAllText(Path.Combine(EndToEndSupport.RepoRoot, "systemd", "pattoo-edge.service")), File.ReadAllText(Path.Combine(root, "etc", "systemd", "system", "pattoo-edge.service")));
            Assert.Equal(File.ReadAllText(Path.Combine(EndToEndSupport.RepoRoot, "src", "Pattoo.Edge.Host", "default.toml")), File.ReadAllText(config));

            // Again, with the config edited: nothing changes, and it says so.
            File.AppendAllText(config, "# edited\n");
            (code, said) = await Run(EdgeProcess.Binary, "install", "--root", root);
            Assert.True(code == 0, said);
            Assert.Contains("already this binary", said);
            Assert.Contains("already the systemd unit", said);
            Assert.Contains("edge.toml: kept as it is", said);
            Assert.EndsWith("# edited\n", File.ReadAllText(config));

            File.WriteAllText(Path.Combine(root, "var", "lib", "pattoo-edge", "pattoo-edge.db"), "data");
            (code, said) = await Run(EdgeProcess.Binary, "uninstall", "--root", root);
            Assert.True(code == 0, said);
            Assert.Contains("removed the systemd unit", said);
            Assert.Contains("removed the binary", said);
            Assert.Contains("etc/pattoo-edge: kept (uninstall --purge deletes it)", said);
            Assert.False(File.Exists(binary));
            Assert.True(File.Exists(config));
            Assert.True(File.Exists(Path.Combine(root, "var", "lib", "pattoo-edge", "pattoo-edge.db")));

            (code, said) = await Run(EdgeProcess.Binary, "uninstall", "--purge", "--root", root);
            Assert.True(code == 0, said);
            Assert.Contains("already gone", said);
            Assert.Contains("etc/pattoo-edge: deleted", said);
            Assert.Contains("var/lib/pattoo-edge: deleted", said);
            Assert.False(Directory.Exists(Path.Combine(root, "etc", "pattoo-edge")));
            Assert.False(Directory.Exists(Path.Combine(root, "var", "lib", "pattoo-edge")));

            (code, said) = await Run(EdgeProcess.Binary, "uninstall", "--frobnicate");
            Assert.Equal(2, code);
            Assert.Contains("usage: pattoo-edge install", said);
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    private static async Task<(int Code, string Output)> Run(string program, params string[] args)
    {
        var (code, stdout, stderr) = await EdgeProcess.RunProgramAsync(program, TimeSpan.FromMinutes(5), args);
        return (code, stdout + stderr);
    }
}
