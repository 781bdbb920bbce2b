// The Debian packages: `cpack -G DEB` builds swamp and swamp-console from this build tree, what
// they hold runs when unpacked (`dpkg -x`) into an empty root, swamp's maintainer scripts
// create and remove the step account in a private copy of /etc, and lintian finds no error.

#include "deploy/privateetc.h"
#include "integration/swampharness.h"

#include <QDirIterator>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

// Runs a tool to its end (cpack takes a while on a busy machine).
Run runTool(const QString &program, const QStringList &arguments,
            const QProcessEnvironment &environment = Harness::baseEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    Run run;
    if (!process.waitForStarted(20000) || !process.waitForFinished(240000)) {
        process.kill();
        process.waitForFinished(5000);
        run.err = u"%1 did not start or finish: %2"_s.arg(program, process.errorString());
        return run;
    }
    run.crashed = process.exitStatus() != QProcess::NormalExit;
    run.exitCode = run.crashed ? -1 : process.exitCode();
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

QByteArray readBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// The comma-separated package names of a Depends/Recommends field, versions dropped.
QStringList packageNames(const QString &field)
{
    QStringList names;
    for (const QString &item : field.split(u',', Qt::SkipEmptyParts))
        names.append(item.trimmed().section(u' ', 0, 0));
    return names;
}

// Runs lintian on packages; *errors gets "tag (package)" of each error it reports
// ("E: swamp: tag-name [details]").
Run runLintian(const QString &lintian, const QStringList &debs, QStringList *errors)
{
    const Run run = runTool(lintian, QStringList{u"--tag-display-limit"_s, u"0"_s} + debs);
    static const QRegularExpression tag(u"^([EWIPXON]): ([^:]+): (\\S+)(.*)$"_s);
    for (const QString &line : run.outLines()) {
        qInfo("lintian: %s", qPrintable(line));
        const QRegularExpressionMatch match = tag.match(line);
        if (match.hasMatch() && match.captured(1) == u"E")
            errors->append(match.captured(3) + u" ("_s + match.captured(2) + u')');
    }
    return run;
}

} // namespace

class tst_Package : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void swampControl();
    void swampContents();
    void swampRunsFromThePackage();
    void stepAccount();
    void consolePackage();
    void copyrightAndChangelog_data();
    void copyrightAndChangelog();
    void lintian();

private:
    QString field(const QString &deb, const QString &name);

    QTemporaryDir m_dir;
    QString m_swampDeb;
    QString m_consoleDeb;
    QString m_root; // both packages unpacked with dpkg -x
};

void tst_Package::initTestCase()
{
    QVERIFY(m_dir.isValid());
    for (const char *tool : {"dpkg-deb", "dpkg-shlibdeps"})
        QVERIFY2(!QStandardPaths::findExecutable(QLatin1String(tool)).isEmpty(),
                 qPrintable(QLatin1String(tool) +
                            u" is missing: run scripts/install-deps.sh (package dpkg-dev)"_s));
    const QString output = m_dir.filePath(u"packages"_s);
    const Run cpack = runTool(QStringLiteral(SWAMP_CPACK_COMMAND),
                              {u"--config"_s, QStringLiteral(SWAMP_BUILD_DIR "/CPackConfig.cmake"),
                               u"-G"_s, u"DEB"_s, u"-B"_s, output});
    QCOMPARE_EXIT(cpack, 0);
    const QString arch = runTool(u"dpkg"_s, {u"--print-architecture"_s}).out.trimmed();
    m_swampDeb = output + u"/swamp_%1_%2.deb"_s.arg(QStringLiteral(SWAMP_VERSION), arch);
    m_consoleDeb = output + u"/swamp-console_%1_%2.deb"_s.arg(QStringLiteral(SWAMP_VERSION), arch);
    QVERIFY2(QFile::exists(m_swampDeb), qPrintable(cpack.describe()));
    QVERIFY2(QFile::exists(m_consoleDeb), qPrintable(cpack.describe()));
    m_root = m_dir.filePath(u"root"_s);
    for (const QString &deb : {m_swampDeb, m_consoleDeb})
        QCOMPARE_EXIT(runTool(u"dpkg-deb"_s, {u"-x"_s, deb, m_root}), 0);
}

QString tst_Package::field(const QString &deb, const QString &name)
{
    const Run run = runTool(u"dpkg-deb"_s, {u"-f"_s, deb, name});
    if (run.exitCode != 0)
        qWarning("dpkg-deb -f %s %s: %s", qPrintable(deb), qPrintable(name),
                 qPrintable(run.describe()));
    return run.out.trimmed();
}

// The Qt runtime the binary links (found by dpkg-shlibdeps) and the SQLite driver Qt loads as a
// plugin; no development package.
void tst_Package::swampControl()
{
    QCOMPARE(field(m_swampDeb, u"Package"_s), u"swamp"_s);
    QCOMPARE(field(m_swampDeb, u"Version"_s), QStringLiteral(SWAMP_VERSION));
    const QStringList depends = packageNames(field(m_swampDeb, u"Depends"_s));
    for (const QString &package : {u"libqt6core6"_s, u"libqt6network6"_s, u"libqt6websockets6"_s,
                                   u"libqt6sql6"_s, u"libqt6sql6-sqlite"_s, u"adduser"_s}) {
        QVERIFY2(depends.contains(package),
                 qPrintable(package + u" is not in Depends: "_s + depends.join(u", ")));
    }
    QVERIFY2(!depends.contains(u"libqt6gui6"_s),
             "the CLI package must not pull in the GUI libraries");
    const QStringList recommends = packageNames(field(m_swampDeb, u"Recommends"_s));
    QVERIFY2(recommends.contains(u"libqt6sql6-psql"_s), qPrintable(recommends.join(u", ")));
    // Every package named exists in Debian (or, like qt6-websockets-abi, is provided by one), and
    // none is a -dev package.
    const QStringList all = depends + recommends;
    const Run show = runTool(u"apt-cache"_s, QStringList{u"show"_s, u"--no-all-versions"_s} + all);
    QCOMPARE_EXIT(show, 0);
    for (const QString &package : all) {
        QVERIFY2(!package.endsWith(u"-dev"_s), qPrintable(package));
        if (show.out.contains(u"Package: "_s + package + u'\n'))
            continue;
        const Run provided = runTool(u"apt-cache"_s, {u"showpkg"_s, package});
        const QString providers = provided.out.section(u"Reverse Provides:"_s, 1).trimmed();
        QVERIFY2(!providers.isEmpty(),
                 qPrintable(package + u" is neither a Debian package nor provided by one"_s));
    }
}

// The binary, the completion, the units as in deploy/systemd, the docs and the recipes.
void tst_Package::swampContents()
{
    const QString root = m_root;
    QVERIFY(QFileInfo(root + u"/usr/bin/swamp"_s).isExecutable());
    for (const QString &unit : {u"swamp-serve.service"_s, u"swamp-worker.service"_s}) {
        const QByteArray packaged = readBytes(root + u"/usr/lib/systemd/system/"_s + unit);
        QVERIFY2(!packaged.isEmpty(), qPrintable(unit));
        QCOMPARE(packaged, readBytes(QStringLiteral(SWAMP_SOURCE_DIR "/deploy/systemd/") + unit));
    }
    for (const QString &doc :
         {u"operations.md"_s, u"protocol.md"_s, u"query.md"_s, u"README.md"_s,
          u"examples/systemd/serve.env"_s, u"examples/systemd/worker.env"_s,
          u"examples/docker/Dockerfile"_s, u"examples/kubernetes/worker-job.yaml"_s}) {
        QVERIFY2(QFile::exists(root + u"/usr/share/doc/swamp/"_s + doc), qPrintable(doc));
    }
    // The units' comments point at these examples.
    const QString unit =
        QString::fromUtf8(readBytes(root + u"/usr/lib/systemd/system/swamp-worker.service"_s));
    QVERIFY(unit.contains(u"/usr/share/doc/swamp/examples/systemd/worker.env"_s));

    // The completion is the packaged binary's own, and bash reads it.
    const QString completion = root + u"/usr/share/bash-completion/completions/swamp"_s;
    const Run printed = runTool(root + u"/usr/bin/swamp"_s, {u"completion"_s, u"bash"_s});
    QCOMPARE_EXIT(printed, 0);
    QCOMPARE(QString::fromUtf8(readBytes(completion)), printed.out);
    QCOMPARE_EXIT(runTool(u"bash"_s, {u"-n"_s, completion}), 0);

    // Nothing of the build or the tests.
    QDirIterator it(root, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next().mid(root.size());
        QVERIFY2(!path.contains(u"tst_"_s) && !path.endsWith(u".a"_s) &&
                     !path.contains(u"alt-version"_s),
                 qPrintable(path));
    }
}

// The unpacked binary runs on this machine's Qt and reports the package's version.
void tst_Package::swampRunsFromThePackage()
{
    const Run version = runTool(m_root + u"/usr/bin/swamp"_s, {u"version"_s});
    QCOMPARE_EXIT(version, 0);
    QVERIFY2(version.out.startsWith(u"swamp %1 (protocol "_s.arg(field(m_swampDeb, u"Version"_s))),
             qPrintable(version.out));
    // Stripped: no debug sections left to ship.
    const Run sections = runTool(u"readelf"_s, {u"-S"_s, m_root + u"/usr/bin/swamp"_s});
    QCOMPARE_EXIT(sections, 0);
    QVERIFY2(!sections.out.contains(u".debug_info"_s), "the packaged binary is not stripped");
}

// The maintainer scripts the package carries, run as dpkg runs them in a private copy of /etc:
// configure creates the system account the worker unit and the image run steps as (an
// unprivileged one, without a login shell or a home), again without a complaint on every
// upgrade; remove keeps it; purge removes it and its group, and the step work directories it may
// still own.
void tst_Package::stepAccount()
{
    const QString control = m_dir.filePath(u"control"_s);
    QCOMPARE_EXIT(runTool(u"dpkg-deb"_s, {u"-e"_s, m_swampDeb, control}), 0);
    for (const QString &script : {u"postinst"_s, u"postrm"_s}) {
        QVERIFY2(QFileInfo(control + u'/' + script).isExecutable(), qPrintable(script));
        QCOMPARE(readBytes(control + u'/' + script),
                 readBytes(QStringLiteral(SWAMP_SOURCE_DIR "/packaging/") + script));
    }
    if (const QString why = PrivateEtc::unavailableReason(); !why.isEmpty())
        QSKIP(qPrintable(why));
    PrivateEtc etc;
    QString error;
    QVERIFY2(etc.create(m_dir.filePath(u"system"_s), &error), qPrintable(error));
    QVERIFY2(!etc.user(u"swamp-step"_s), "this machine has a swamp-step account already");

    const QString postinst = control + u"/postinst"_s;
    const QString postrm = control + u"/postrm"_s;
    QCOMPARE_EXIT(etc.inNamespace(postinst, {u"configure"_s}), 0);
    const std::optional<PasswdEntry> account = etc.user(u"swamp-step"_s);
    QVERIFY2(account, "postinst configure did not create swamp-step");
    // adduser --system takes uids from 100 to 999 (adduser.conf, Debian policy 9.2.2).
    QVERIFY2(account->uid >= 100 && account->uid <= 999, qPrintable(QString::number(account->uid)));
    QCOMPARE(etc.group(u"swamp-step"_s), std::optional<uint>(account->gid));
    QVERIFY(account->gid != 0);
    QCOMPARE(account->home, u"/nonexistent"_s);
    QCOMPARE(account->shell, u"/usr/sbin/nologin"_s);
    QVERIFY(!QFile::exists(etc.varLib() + u"/nonexistent"_s));

    // An upgrade configures again: same account, no error.
    QCOMPARE_EXIT(etc.inNamespace(postinst, {u"configure"_s, QStringLiteral(SWAMP_VERSION)}), 0);
    QCOMPARE(etc.user(u"swamp-step"_s)->uid, account->uid);

    QCOMPARE_EXIT(etc.inNamespace(postrm, {u"remove"_s}), 0);
    QVERIFY2(etc.user(u"swamp-step"_s), "postrm remove must keep the account");

    const QString leftover = etc.varLib() + u"/swamp-worker/work/lease-1"_s;
    QVERIFY(QDir().mkpath(leftover));
    QVERIFY(QFile(etc.varLib() + u"/swamp-worker/machine-id"_s).open(QIODevice::WriteOnly));
    QCOMPARE_EXIT(etc.inNamespace(postrm, {u"purge"_s}), 0);
    QVERIFY2(!etc.user(u"swamp-step"_s), "postrm purge must remove the account");
    QVERIFY2(!etc.group(u"swamp-step"_s), "postrm purge must remove the account's group");
    QVERIFY2(!QFile::exists(etc.varLib() + u"/swamp-worker/work"_s), "purge left step work dirs");
    QVERIFY2(QFile::exists(etc.varLib() + u"/swamp-worker/machine-id"_s),
             "purge must keep the machine identity");
    // Purging again (the account is gone) is no error either.
    QCOMPARE_EXIT(etc.inNamespace(postrm, {u"purge"_s}), 0);
}

void tst_Package::consolePackage()
{
    QCOMPARE(field(m_consoleDeb, u"Package"_s), u"swamp-console"_s);
    QCOMPARE(field(m_consoleDeb, u"Version"_s), QStringLiteral(SWAMP_VERSION));
    const QStringList depends = packageNames(field(m_consoleDeb, u"Depends"_s));
    for (const QString &package : {u"libqt6widgets6"_s, u"libqt6gui6"_s, u"libqt6websockets6"_s})
        QVERIFY2(depends.contains(package),
                 qPrintable(package + u" is not in Depends: "_s + depends.join(u", ")));
    QCOMPARE(field(m_consoleDeb, u"Maintainer"_s), field(m_swampDeb, u"Maintainer"_s));
    // Its own summary, not the CLI's.
    const QString summary = field(m_consoleDeb, u"Description"_s).section(u'\n', 0, 0);
    QVERIFY2(summary != field(m_swampDeb, u"Description"_s).section(u'\n', 0, 0),
             qPrintable(summary));
    const QString desktop = m_root + u"/usr/share/applications/swamp-console.desktop"_s;
    QVERIFY(QFile::exists(desktop));
    // The icon the desktop file names is installed where the icon theme looks for it.
    QVERIFY2(QString::fromUtf8(readBytes(desktop)).split(u'\n').contains(u"Icon=swamp-console"_s),
             "the desktop file names no Icon=swamp-console");
    const QByteArray icon =
        readBytes(m_root + u"/usr/share/icons/hicolor/scalable/apps/swamp-console.svg"_s);
    QVERIFY2(icon.contains("<svg"), "no SVG icon in the hicolor theme");
    const QString validate = QStandardPaths::findExecutable(u"desktop-file-validate"_s);
    QVERIFY2(!validate.isEmpty(), "desktop-file-validate is missing: run scripts/install-deps.sh "
                                  "(package desktop-file-utils)");
    const Run validated = runTool(validate, {desktop});
    QCOMPARE_EXIT(validated, 0);
    QVERIFY2(validated.out.trimmed().isEmpty() && validated.err.trimmed().isEmpty(),
             qPrintable(validated.describe()));
    // Qt's own catalogs: without them the German console's Cancel and Close stay English.
    const QStringList recommends = packageNames(field(m_consoleDeb, u"Recommends"_s));
    QVERIFY2(recommends.contains(u"qt6-translations-l10n"_s), qPrintable(recommends.join(u", ")));
    // --version needs no display (a smoke test over ssh has none).
    QProcessEnvironment environment = Harness::baseEnvironment();
    for (const QString &name : {u"DISPLAY"_s, u"WAYLAND_DISPLAY"_s, u"QT_QPA_PLATFORM"_s})
        environment.remove(name);
    const Run version =
        runTool(m_root + u"/usr/bin/swamp-console"_s, {u"--version"_s}, environment);
    QCOMPARE_EXIT(version, 0);
    QCOMPARE(version.out.trimmed(), u"swamp-console %1"_s.arg(QStringLiteral(SWAMP_VERSION)));
}

void tst_Package::copyrightAndChangelog_data()
{
    QTest::addColumn<QString>("package");
    QTest::addRow("swamp") << u"swamp"_s;
    QTest::addRow("swamp-console") << u"swamp-console"_s;
}

// Each package carries the license (DEP-5, pointing at Debian's copy of the text the repository
// holds as LICENSE) and the changelog, whose newest entry is this version.
void tst_Package::copyrightAndChangelog()
{
    QFETCH(QString, package);
    const QString doc = m_root + u"/usr/share/doc/"_s + package;
    const QString copyright = QString::fromUtf8(readBytes(doc + u"/copyright"_s));
    QVERIFY2(copyright.startsWith(
                 u"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"_s),
             qPrintable(copyright.left(200)));
    QVERIFY(copyright.contains(u"\nLicense: Apache-2.0\n"_s));
    QVERIFY(copyright.contains(u"/usr/share/common-licenses/Apache-2.0"_s));
    QCOMPARE(readBytes(QStringLiteral(SWAMP_SOURCE_DIR "/LICENSE")),
             readBytes(u"/usr/share/common-licenses/Apache-2.0"_s));

    const Run changelog = runTool(u"gzip"_s, {u"-dc"_s, doc + u"/changelog.gz"_s});
    QCOMPARE_EXIT(changelog, 0);
    const QString expected = u"swamp (%1) "_s.arg(QStringLiteral(SWAMP_VERSION));
    QVERIFY2(changelog.out.startsWith(expected),
             qPrintable(u"the newest entry of packaging/changelog is not for this version: add "
                        "one that starts \"%1\"\n"_s.arg(expected) + changelog.out.left(200)));
    QVERIFY(changelog.out.contains(u" -- "_s + field(m_swampDeb, u"Maintainer"_s) + u"  "_s));
}

// lintian, when it is installed (scripts/install-deps.sh installs it): no error on either
// package; a failure names the error tags, and every tag it reports is printed. That the errors
// are read right is checked on a copy of the console package without its copyright file.
void tst_Package::lintian()
{
    const QString lintian = QStandardPaths::findExecutable(u"lintian"_s);
    if (lintian.isEmpty())
        QSKIP("lintian is not installed: run scripts/install-deps.sh (package lintian)");
    QStringList errors;
    const Run run = runLintian(lintian, {m_swampDeb, m_consoleDeb}, &errors);
    QVERIFY2(errors.isEmpty(), qPrintable(u"lintian errors: "_s + errors.join(u", ")));
    QCOMPARE_EXIT(run, 0);

    const QString tree = m_dir.filePath(u"broken"_s);
    const QString broken = m_dir.filePath(u"broken.deb"_s);
    QCOMPARE_EXIT(runTool(u"dpkg-deb"_s, {u"-R"_s, m_consoleDeb, tree}), 0);
    QVERIFY(QFile::remove(tree + u"/usr/share/doc/swamp-console/copyright"_s));
    QCOMPARE_EXIT(runTool(u"dpkg-deb"_s, {u"-b"_s, tree, broken}), 0);
    QStringList brokenErrors;
    const Run brokenRun = runLintian(lintian, {broken}, &brokenErrors);
    QVERIFY2(brokenRun.exitCode > 0, qPrintable(brokenRun.describe()));
    QVERIFY2(brokenErrors.contains(u"no-copyright-file (swamp-console)"_s),
             qPrintable(brokenErrors.join(u", ")));
}

QTEST_GUILESS_MAIN(tst_Package)
#include "tst_package.moc"
