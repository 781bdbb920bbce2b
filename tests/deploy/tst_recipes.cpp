// The deploy recipes of deploy/ and the guide's forms of them in docs/operations.md, run as
// written against a live orchestrator: each recipe's `swamp worker connect` command is taken
// from the recipe by parsing it in its own syntax (YAML with PyYAML, shell words as a POSIX shell
// splits them, Dockerfile instructions, systemd unit and environment files), the operator's
// edits are applied (the orchestrator URL, a fresh token where the recipe has a placeholder or
// a file for it, and a temporary directory for the cache dir), and the worker it starts must
// enroll and then stop cleanly. Where a recipe runs its steps as the step account (the systemd
// unit and the container image), the worker runs as root with the account the package's postinst
// creates, and a step must run as that account.

#include "privateetc.h"
#include "recipeparsers.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <memory>
#include <vector>

#include <signal.h>

using namespace SwampTest;
using namespace SwampTest::Recipes;
using namespace Qt::StringLiterals;

namespace {

// The guide's values, which every recipe carries and an operator replaces.
const QString GuideUrl = u"wss://orchestrator:9090"_s;
const QString TokenPlaceholder = u"<token>"_s;

// The words every worker recipe of the guide runs, with the token filled in.
QStringList guideConnectWords(const QString &token, const QString &cacheDir)
{
    return {u"swamp"_s,   u"worker"_s, u"connect"_s,     GuideUrl,
            u"--token"_s, token,       u"--cache-dir"_s, cacheDir};
}

// The hardened recipes' one change to the guide's command: `--token T` becomes
// `--token-file PATH`, or, with an empty path, goes (the token then comes from the environment).
QStringList tokenOffTheCommandLine(QStringList words, const QString &path)
{
    const qsizetype at = words.indexOf(u"--token"_s);
    if (at < 0 || at + 1 >= words.size())
        return {u"(no --token in: "_s + words.join(u' ') + u')'};
    if (path.isEmpty()) {
        words.remove(at, 2);
    } else {
        words[at] = u"--token-file"_s;
        words[at + 1] = path;
    }
    return words;
}

// Replaces GitHub Actions' `${{ secrets.NAME }}` with the secret's value; false (and `error`) on
// any other expression or an unknown secret.
bool evaluateActions(QString *text, const std::map<QString, QString> &secrets, QString *error)
{
    static const QRegularExpression expression(u"\\$\\{\\{\\s*([^}]*?)\\s*\\}\\}"_s);
    QRegularExpressionMatch match;
    while ((match = expression.match(*text)).hasMatch()) {
        const QString name = match.captured(1).section(u'.', 1);
        if (!match.captured(1).startsWith(u"secrets.") || !secrets.count(name)) {
            *error = u"unexpected expression "_s + match.captured(0);
            return false;
        }
        text->replace(match.capturedStart(), match.capturedLength(), secrets.at(name));
    }
    return true;
}

// The YAML object at `path` (keys, or array indexes as numbers) inside `root`.
QJsonValue at(const QJsonValue &root, const QStringList &path)
{
    QJsonValue value = root;
    for (const QString &key : path) {
        bool index = false;
        const int i = key.toInt(&index);
        value = index ? value.toArray().at(i) : value.toObject().value(key);
    }
    return value;
}

} // namespace

// One recipe, ready to start: what runs, with which environment additions and working dir.
struct Launch
{
    QString program;
    QStringList arguments;
    std::map<QString, QString> environment;
    QString workingDirectory;
    QString standardInputFile;
    // The account the worker is told to run its steps as (SWAMP_WORKER_STEP_USER), if any.
    QString stepUser;
};

class tst_Recipes : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void workerRecipes_data();
    void workerRecipes();
    void recipesMatchTheGuide();
    void dockerfile();
    void systemdWorkerUnit();
    void systemdUnitsVerify_data();
    void systemdUnitsVerify();
    void systemdServeUnit_data();
    void systemdServeUnit();

private:
    Launch sshRecipe(const QString &script, const QString &token, const QString &cacheDir);
    Launch dockerRunRecipe(const QStringList &words, const QString &token, const QString &cacheDir);
    Launch kubernetesRecipe(const QJsonObject &job, const QString &token, const QString &cacheDir);
    Launch githubActionsRecipe(const QJsonObject &step, const QString &token,
                               const QString &cacheDir);
    Launch cloudInitRecipe(const QJsonObject &userData, const QString &token,
                           const QString &cacheDir);
    // `configFile`: worker.env names an INI file (SWAMP_CONFIG) with the URL instead.
    Launch systemdWorkerRecipe(const QString &token, const QString &cacheDir, bool configFile);
    // A shell script of a recipe with the operator's edits: URL, token, cache dir.
    QString edited(QString script, const QString &token, const QString &guideCacheDir,
                   const QString &cacheDir) const;
    // The Dockerfile's instructions, and the `docker run` commands its comments show.
    QList<DockerInstruction> dockerfileInstructions();
    QList<DockerRun> dockerfileRuns();
    // `command` as the image runs it, with `mounts` (path in the container -> path here) and the
    // environment `docker run -e` or the pod spec adds.
    Launch inImage(const QStringList &command, std::map<QString, QString> mounts,
                   const std::map<QString, QString> &environment, const QString &cacheDir);
    // The parts of the guide ("Deploy a worker") as data.
    QStringList guideSshWords();
    QStringList guideDockerRunWords();
    QJsonObject guideKubernetesJob();
    QJsonObject guideActionsStep();
    QJsonObject guideUserData();
    // Our own recipes as data.
    QStringList sshScriptWords();
    QJsonObject kubernetesJob();
    QJsonObject actionsStep();
    QJsonObject userData();
    Child *start(const QString &name, const Launch &launch);

    Harness m_harness;
    QTemporaryDir m_scratch;
    QString m_binDir; // holds `swamp`, first in PATH: what the recipes' `swamp` finds
    PrivateEtc m_etc; // this machine's /etc after the package's postinst ran
    QString m_noAccounts; // why m_etc could not be made here (PrivateEtc::unavailableReason())
    std::vector<std::unique_ptr<Child>> m_children;
    QList<qint64> m_groups; // process group ids of the recipes started
};

void tst_Recipes::initTestCase()
{
    QVERIFY2(QFileInfo(Python).isExecutable(),
             "/usr/bin/python3 is missing: run scripts/install-deps.sh");
    const Run yaml = runTool(Python, {u"-c"_s, u"import yaml"_s});
    QVERIFY2(
        yaml.exitCode == 0,
        qPrintable(u"python3-yaml is missing: run scripts/install-deps.sh\n"_s + yaml.describe()));
    QVERIFY(m_scratch.isValid());
    // The step user must be able to pass through to the cache dirs below it (never list it).
    QVERIFY(QFile::setPermissions(m_scratch.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                                        QFileDevice::ExeOwner | QFileDevice::ExeGroup |
                                                        QFileDevice::ExeOther));
    m_binDir = m_scratch.filePath(u"bin"_s);
    QVERIFY(QDir().mkpath(m_binDir));
    QVERIFY(QFile::link(swampBinary(), m_binDir + u"/swamp"_s));

    // The accounts of a machine with the package installed: its postinst (the one the .deb
    // carries, tst_package checks) run in a private copy of /etc.
    m_noAccounts = PrivateEtc::unavailableReason();
    if (m_noAccounts.isEmpty()) {
        QString error;
        QVERIFY2(m_etc.create(m_scratch.filePath(u"system"_s), &error), qPrintable(error));
        const Run postinst =
            m_etc.inNamespace(sourcePath(u"packaging/postinst"_s), {u"configure"_s});
        QVERIFY2(postinst.exitCode == 0, qPrintable(postinst.describe()));
    } else {
        qInfo("%s: recipes that run steps as the step user are skipped", qPrintable(m_noAccounts));
    }
    if (!PrivateEtc::realRoot())
        qInfo("not root: recipes that run steps as the step user run their worker as root of a "
              "user namespace, which cannot switch a step to that user, so no step is run");
    QVERIFY(m_harness.startOrchestrator());
}

void tst_Recipes::cleanup()
{
    // Each recipe's process group: its shell and the worker under it, even if the shell is gone.
    for (const qint64 group : std::as_const(m_groups))
        ::kill(-pid_t(group), SIGKILL);
    for (const auto &child : m_children) {
        if (child->isRunning())
            child->process.waitForFinished(10000);
    }
    m_children.clear();
    m_groups.clear();
}

// A recipe that runs steps as the step user starts as root with the accounts of a machine with
// the package installed (the image's, or the host's of the systemd unit).
Child *tst_Recipes::start(const QString &name, const Launch &launch)
{
    m_children.push_back(std::make_unique<Child>(name));
    Child *child = m_children.back().get();
    QProcessEnvironment environment = Harness::baseEnvironment();
    environment.insert(u"PATH"_s, m_binDir + u':' + environment.value(u"PATH"_s));
    for (const auto &[key, value] : launch.environment)
        environment.insert(key, value);
    child->process.setProcessEnvironment(environment);
    if (!launch.workingDirectory.isEmpty())
        child->process.setWorkingDirectory(launch.workingDirectory);
    if (!launch.standardInputFile.isEmpty())
        child->process.setStandardInputFile(launch.standardInputFile);
    // Its own process group, so that cleanup() also reaches a worker a recipe's shell started.
    child->setModifier([] { ::setpgid(0, 0); });
    if (launch.stepUser.isEmpty()) {
        child->process.start(launch.program, launch.arguments);
    } else {
        const QStringList words = m_etc.wrapAccounts(launch.program, launch.arguments);
        child->process.start(words.first(), words.mid(1));
    }
    if (child->process.waitForStarted(20000))
        m_groups.append(child->pid());
    return child;
}

QString tst_Recipes::edited(QString script, const QString &token, const QString &guideCacheDir,
                            const QString &cacheDir) const
{
    return script.replace(GuideUrl, m_harness.url())
        .replace(TokenPlaceholder, token)
        .replace(guideCacheDir, cacheDir);
}

// ---- the guide's recipes and ours, as data ---------------------------------------------------

QStringList tst_Recipes::guideSshWords()
{
    return shellWords(guideBlock(u"SSH:"_s));
}

QStringList tst_Recipes::guideDockerRunWords()
{
    return shellWords(guideBlock(u"Container:"_s));
}

QJsonObject tst_Recipes::guideKubernetesJob()
{
    return yamlDocuments(u"docs"_s, guideBlock(u"Kubernetes Job:"_s)).at(0).toObject();
}

QJsonObject tst_Recipes::guideActionsStep()
{
    const QJsonArray steps =
        yamlDocuments(u"docs"_s, guideBlock(u"CI runner step (GitHub Actions):"_s)).at(0).toArray();
    return steps.size() == 1 ? steps.at(0).toObject() : QJsonObject();
}

QJsonObject tst_Recipes::guideUserData()
{
    return yamlDocuments(u"docs"_s, guideBlock(u"Cloud-init / user-data"_s)).at(0).toObject();
}

// deploy/ssh/connect-worker.sh: its one command, comments dropped.
QStringList tst_Recipes::sshScriptWords()
{
    return shellWords(readText(sourcePath(u"deploy/ssh/connect-worker.sh"_s)));
}

QJsonObject tst_Recipes::kubernetesJob()
{
    return yamlDocuments(sourcePath(u"deploy/kubernetes/worker-job.yaml"_s)).at(0).toObject();
}

// The workflow's "Connect Swamp worker" step.
QJsonObject tst_Recipes::actionsStep()
{
    const QJsonObject workflow =
        yamlDocuments(sourcePath(u"deploy/github-actions/swamp-worker.yml"_s)).at(0).toObject();
    for (const QJsonValue &job : workflow.value(u"jobs"_s).toObject()) {
        for (const QJsonValue &step : job.toObject().value(u"steps"_s).toArray()) {
            if (step.toObject().value(u"name"_s).toString() == u"Connect Swamp worker")
                return step.toObject();
        }
    }
    return {};
}

QJsonObject tst_Recipes::userData()
{
    return yamlDocuments(sourcePath(u"deploy/cloud-init/user-data.yaml"_s)).at(0).toObject();
}

QList<DockerInstruction> tst_Recipes::dockerfileInstructions()
{
    const QString text = readText(sourcePath(u"deploy/docker/Dockerfile"_s));
    if (text.isEmpty())
        QTest::qFail("deploy/docker/Dockerfile is missing or empty", __FILE__, __LINE__);
    return dockerInstructions(text);
}

QList<DockerRun> tst_Recipes::dockerfileRuns()
{
    QList<DockerRun> runs;
    for (const QStringList &words :
         dockerRunsInComments(readText(sourcePath(u"deploy/docker/Dockerfile"_s))))
        runs.append(parseDockerRun(words));
    return runs;
}

// ---- running them ----------------------------------------------------------------------------

void tst_Recipes::workerRecipes_data()
{
    QTest::addColumn<QString>("recipe");
    // Ours (deploy/), and the guide's forms, which must keep working as written.
    for (const char *recipe :
         {"ssh-stdin", "ssh-guide", "docker-run-file", "docker-cmd", "docker-run-guide",
          "kubernetes", "kubernetes-guide", "github-actions", "github-actions-guide", "cloud-init",
          "cloud-init-guide", "systemd", "systemd-config-file"})
        QTest::newRow(recipe) << QString::fromLatin1(recipe);
}

// Each recipe's worker enrolls (it is in `swamp worker list`), runs its steps as the recipe says,
// then SIGTERM, as `docker stop`, Kubernetes and systemd send it, drains it: it exits 0 and the
// orchestrator sees it go.
void tst_Recipes::workerRecipes()
{
    QFETCH(QString, recipe);
    const QString name = u"recipe-"_s + recipe;
    const QString token = m_harness.createToken(name);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = m_scratch.filePath(u"cache-"_s + recipe);

    Launch launch;
    if (recipe == u"ssh-stdin") {
        launch = sshRecipe(readText(sourcePath(u"deploy/ssh/connect-worker.sh"_s)), token, cacheDir);
    } else if (recipe == u"ssh-guide") {
        launch = sshRecipe(guideBlock(u"SSH:"_s), token, cacheDir);
    } else if (recipe == u"docker-run-file" || recipe == u"docker-cmd") {
        // The Dockerfile's own `docker run` lines: the one with --token-file, the one without
        // a command.
        const bool withCommand = recipe == u"docker-run-file";
        QStringList words;
        for (const QStringList &run :
             dockerRunsInComments(readText(sourcePath(u"deploy/docker/Dockerfile"_s)))) {
            const DockerRun parsed = parseDockerRun(run);
            if (withCommand ? parsed.command.contains(u"--token-file"_s) : parsed.command.isEmpty())
                words = run;
        }
        QVERIFY2(!words.isEmpty(), "the Dockerfile's comment shows no such `docker run`");
        launch = dockerRunRecipe(words, token, cacheDir);
    } else if (recipe == u"docker-run-guide") {
        launch = dockerRunRecipe(guideDockerRunWords(), token, cacheDir);
    } else if (recipe == u"kubernetes") {
        launch = kubernetesRecipe(kubernetesJob(), token, cacheDir);
    } else if (recipe == u"kubernetes-guide") {
        launch = kubernetesRecipe(guideKubernetesJob(), token, cacheDir);
    } else if (recipe == u"github-actions") {
        launch = githubActionsRecipe(actionsStep(), token, cacheDir);
    } else if (recipe == u"github-actions-guide") {
        launch = githubActionsRecipe(guideActionsStep(), token, cacheDir);
    } else if (recipe == u"cloud-init") {
        launch = cloudInitRecipe(userData(), token, cacheDir);
    } else if (recipe == u"cloud-init-guide") {
        launch = cloudInitRecipe(guideUserData(), token, cacheDir);
    } else {
        launch = systemdWorkerRecipe(token, cacheDir, recipe == u"systemd-config-file");
    }
    if (QTest::currentTestFailed())
        return;
    QVERIFY(!launch.program.isEmpty());
    // The image (the container and Kubernetes recipes, the guide's among them) and the systemd
    // unit run steps as the step user by default; the others as the worker's user, as the guide.
    const bool image = recipe.startsWith(u"docker"_s) || recipe.startsWith(u"kubernetes"_s);
    QCOMPARE(!launch.stepUser.isEmpty(), image || recipe.startsWith(u"systemd"_s));
    if (!launch.stepUser.isEmpty() && !m_noAccounts.isEmpty())
        QSKIP(qPrintable(u"it runs steps as %1: "_s.arg(launch.stepUser) + m_noAccounts));

    Child *worker = start(recipe, launch);
    const auto listed = [&] {
        const QJsonArray workers = m_harness.workerList(false).value(u"workers"_s).toArray();
        for (const QJsonValue &value : workers) {
            if (value.toObject().value(u"name"_s).toString() == name)
                return true;
        }
        return false;
    };
    QVERIFY2(QTest::qWaitFor([&] { return !worker->isRunning() || listed(); }, 60000) && listed(),
             qPrintable(worker->describe()));
    QVERIFY2(worker->outContains(u"enrolled as %1 "_s.arg(name)), qPrintable(worker->describe()));
    // The recipe's cache dir is the one that holds the identity, and its lock names the worker.
    QVERIFY2(QFile::exists(cacheDir + u"/machine-id"_s), qPrintable(worker->describe()));
    const QString lock = readText(cacheDir + u"/worker.lock"_s);
    const pid_t workerPid = pid_t(lock.section(u'\n', 0, 0).toLongLong());
    QVERIFY2(workerPid > 0, qPrintable(lock));
    // Nothing of the token is left on the worker's command line (it overwrites it), nor, in our
    // recipes, on that of the shell that started it (the guide's SSH line keeps it on `sh -c`'s).
    const QByteArray secret = token.section(u'.', 1).toLatin1();
    const auto onCommandLine = [&](qint64 pid) {
        QFile cmdline(u"/proc/%1/cmdline"_s.arg(pid));
        return cmdline.open(QIODevice::ReadOnly) && cmdline.readAll().contains(secret);
    };
    QVERIFY2(!onCommandLine(workerPid), "the token is on the worker's command line");
    if (!recipe.endsWith(u"-guide"_s))
        QVERIFY2(!onCommandLine(worker->pid()), "the token is on the recipe's command line");

    if (!launch.stepUser.isEmpty()) {
        QVERIFY2(worker->outContains(u"as user %1"_s.arg(launch.stepUser)),
                 qPrintable(worker->describe()));
        if (PrivateEtc::realRoot()) {
            const Run step = m_harness.cli({u"run"_s, u"--"_s, u"id"_s, u"-un"_s});
            QCOMPARE_EXIT(step, 0);
            QCOMPARE(step.out, launch.stepUser + u'\n');
        }
    }

    QCOMPARE(::kill(workerPid, SIGTERM), 0);
    QVERIFY2(worker->waitForExit(30000), qPrintable(worker->describe()));
    QVERIFY2(worker->exitCode() == 0, qPrintable(worker->describe()));
    QVERIFY2(worker->outContains(u"stopped: drained"_s), qPrintable(worker->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(m_harness.workerStatus(name), u"disconnected"_s, 30000);
}

// SSH: `ssh worker-host '<command>' [< FILE]`; the remote end runs the quoted command with its
// shell, its standard input the local file's content.
Launch tst_Recipes::sshRecipe(const QString &script, const QString &token, const QString &cacheDir)
{
    const QStringList words = shellWords(script);
    const bool redirected = words.size() == 5 && words.at(3) == u"<";
    if ((words.size() != 3 && !redirected) || words.at(0) != u"ssh" ||
        words.at(1) != u"worker-host") {
        QTest::qFail(qPrintable(u"expected `ssh worker-host '<command>' [< FILE]`, found: "_s + script),
                     __FILE__, __LINE__);
        return {};
    }
    const QString remote = words.at(2);
    [&] {
        QCOMPARE(shellWords(remote).mid(0, 4), guideConnectWords(token, {}).mid(0, 4));
    }();
    if (QTest::currentTestFailed())
        return {};
    Launch launch{u"/bin/sh"_s,
                  {u"-c"_s, edited(remote, token, u"/var/lib/swamp-worker"_s, cacheDir)},
                  {},
                  {},
                  {},
                  {}};
    if (redirected) {
        // The operator's edit: their token file, written as the script's comment says (umask 077).
        launch.standardInputFile = m_scratch.filePath(u"ssh-token"_s);
        writeSecret(launch.standardInputFile, token + u'\n', 0600);
    }
    return launch;
}

// A command as the image runs it: the image's ENV, WORKDIR and PATH (the package puts swamp in
// /usr/bin), as root as the image has no USER, with its /data volume on the test's cache dir and
// every mounted path on the file or directory mounted there.
Launch tst_Recipes::inImage(const QStringList &command, std::map<QString, QString> mounts,
                            const std::map<QString, QString> &environment,
                            const QString &cacheDir)
{
    const QList<DockerInstruction> instructions = dockerfileInstructions();
    Launch launch;
    if (command.isEmpty() ||
        (command.first() != u"swamp" && command.first() != u"/usr/bin/swamp")) {
        QTest::qFail(
            qPrintable(u"the container command does not start with swamp: "_s + command.join(u' ')),
            __FILE__, __LINE__);
        return launch;
    }
    if (!lastInstruction(instructions, u"ENTRYPOINT"_s).isEmpty()) {
        QTest::qFail(
            "the image has an ENTRYPOINT: `docker run IMAGE swamp ...` would not run swamp",
            __FILE__, __LINE__);
        return launch;
    }
    mounts.try_emplace(u"/data"_s, cacheDir); // VOLUME /data: an anonymous volume unless named
    const auto here = [&](const QString &word) -> QString {
        for (const auto &[target, source] : mounts) {
            if (word == target || word.startsWith(target + u'/'))
                return source + word.mid(target.size());
        }
        return word;
    };
    launch.program = swampBinary();
    for (const QString &word : command.mid(1))
        launch.arguments.append(here(word));
    std::map<QString, QString> variables = dockerEnvironment(instructions);
    for (const auto &[key, value] : environment)
        variables[key] = value;
    for (const auto &[key, value] : variables)
        launch.environment[key] = here(value);
    const QString workdir = lastInstruction(instructions, u"WORKDIR"_s);
    if (workdir == u"/data") {
        QDir().mkpath(cacheDir);
        launch.workingDirectory = cacheDir;
    }
    launch.stepUser = variables[u"SWAMP_WORKER_STEP_USER"_s];
    return launch;
}

// Container: `docker run [options] swamp-worker [command]`; -e adds to the environment, -v
// mounts the operator's file or a named volume.
Launch tst_Recipes::dockerRunRecipe(const QStringList &words, const QString &token,
                                    const QString &cacheDir)
{
    const DockerRun run = parseDockerRun(words);
    if (!run.error.isEmpty() || run.image != u"swamp-worker") {
        QTest::qFail(qPrintable(u"expected `docker run ... swamp-worker ...` (the Dockerfile's tag): "_s +
                                run.error + u' ' + words.join(u' ')),
                     __FILE__, __LINE__);
        return {};
    }
    std::map<QString, QString> mounts;
    for (const auto &[source, target] : run.volumes) {
        if (!source.startsWith(u'/')) {
            mounts[target] = target == u"/data" ? cacheDir : m_scratch.filePath(source);
            continue;
        }
        // The operator's edit: their own file holding the token, as the comment says (0600).
        const QString file = m_scratch.filePath(u"docker-"_s + QFileInfo(source).fileName());
        writeSecret(file, token + u'\n', 0600);
        mounts[target] = file;
    }
    std::map<QString, QString> environment = run.environment;
    for (auto &[key, value] : environment)
        value.replace(GuideUrl, m_harness.url());
    QStringList command = run.command.isEmpty()
                              ? stringList(QJsonDocument::fromJson(
                                               lastInstruction(dockerfileInstructions(), u"CMD"_s)
                                                   .toUtf8())
                                               .array())
                              : run.command;
    for (QString &word : command) {
        if (word == TokenPlaceholder)
            word = token;
        else if (word == GuideUrl)
            word = m_harness.url();
    }
    return inImage(command, mounts, environment, cacheDir);
}

// Kubernetes: the Job's container command with $(VAR) references expanded from the container's
// env, whose secretKeyRef points into the Secret of worker-token-secret.yaml; its volumes: the
// emptyDir cache and the Secret as files (the mode its defaultMode says).
Launch tst_Recipes::kubernetesRecipe(const QJsonObject &job, const QString &token,
                                     const QString &cacheDir)
{
    const QJsonObject secret =
        yamlDocuments(sourcePath(u"deploy/kubernetes/worker-token-secret.yaml"_s)).at(0).toObject();
    [&] {
        QCOMPARE(job.value(u"kind"_s).toString(), u"Job"_s);
        QCOMPARE(secret.value(u"kind"_s).toString(), u"Secret"_s);
    }();
    if (QTest::currentTestFailed())
        return {};
    const QJsonObject pod =
        job.value(u"spec"_s).toObject().value(u"template"_s).toObject().value(u"spec"_s).toObject();
    const QJsonObject container = pod.value(u"containers"_s).toArray().at(0).toObject();
    const QString secretName = secret.value(u"metadata"_s).toObject().value(u"name"_s).toString();
    QJsonObject secretData = secret.value(u"stringData"_s).toObject();
    // The operator's edit: the token goes into the Secret.
    for (auto it = secretData.begin(); it != secretData.end(); ++it) {
        if (it.value().toString() == TokenPlaceholder)
            it.value() = token;
    }

    std::map<QString, QString> environment;
    for (const QJsonValue &value : container.value(u"env"_s).toArray()) {
        const QJsonObject entry = value.toObject();
        const QString envName = entry.value(u"name"_s).toString();
        if (entry.contains(u"value"_s)) {
            environment[envName] = entry.value(u"value"_s).toString();
            continue;
        }
        const QJsonObject ref =
            entry.value(u"valueFrom"_s).toObject().value(u"secretKeyRef"_s).toObject();
        if (ref.value(u"name"_s).toString() != secretName ||
            !secretData.contains(ref.value(u"key"_s).toString())) {
            QTest::qFail(
                qPrintable(
                    u"env %1 refers to secret %2 key %3, which worker-token-secret.yaml does not define"_s
                        .arg(envName, ref.value(u"name"_s).toString(),
                             ref.value(u"key"_s).toString())),
                __FILE__, __LINE__);
            return {};
        }
        environment[envName] = secretData.value(ref.value(u"key"_s).toString()).toString();
    }
    // $(VAR) expands to the container's env var; $$ escapes (Kubernetes "Define a command").
    static const QRegularExpression reference(u"\\$\\$|\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)"_s);
    QStringList command;
    const QStringList raw =
        stringList(container.value(u"command"_s)) + stringList(container.value(u"args"_s));
    for (const QString &word : raw) {
        QString expanded;
        qsizetype last = 0;
        for (auto it = reference.globalMatch(word); it.hasNext();) {
            const QRegularExpressionMatch match = it.next();
            expanded += word.mid(last, match.capturedStart() - last);
            if (match.captured(0) == u"$$")
                expanded += u'$';
            else if (environment.count(match.captured(1)))
                expanded += environment[match.captured(1)];
            else
                expanded += match.captured(0);
            last = match.capturedEnd();
        }
        command.append(expanded + word.mid(last));
    }
    // Each mount of a volume of the pod: the emptyDir is the cache dir, a Secret volume a
    // directory with one file per key, of the volume's defaultMode (Kubernetes' default 0644).
    std::map<QString, QString> mounts;
    const QJsonArray volumes = pod.value(u"volumes"_s).toArray();
    for (const QJsonValue &mountValue : container.value(u"volumeMounts"_s).toArray()) {
        const QJsonObject mount = mountValue.toObject();
        const QString mountPath = mount.value(u"mountPath"_s).toString();
        for (const QJsonValue &volumeValue : volumes) {
            const QJsonObject volume = volumeValue.toObject();
            if (volume.value(u"name"_s) != mount.value(u"name"_s))
                continue;
            if (volume.contains(u"emptyDir"_s)) {
                mounts[mountPath] = cacheDir;
                continue;
            }
            const QJsonObject secretVolume = volume.value(u"secret"_s).toObject();
            const int mode = secretVolume.contains(u"defaultMode"_s)
                                 ? fileMode(secretVolume.value(u"defaultMode"_s).toString())
                                 : 0644;
            if (secretVolume.value(u"secretName"_s).toString() != secretName || mode < 0) {
                QTest::qFail(qPrintable(u"volume %1 is neither an emptyDir nor Secret %2 with a mode"_s
                                            .arg(volume.value(u"name"_s).toString(), secretName)),
                             __FILE__, __LINE__);
                return {};
            }
            const QString directory = m_scratch.filePath(u"kubernetes-"_s + secretName);
            QDir().mkpath(directory);
            for (auto it = secretData.begin(); it != secretData.end(); ++it)
                writeSecret(directory + u'/' + it.key(), it.value().toString(), uint(mode));
            mounts[mountPath] = directory;
        }
    }
    [&] {
        QCOMPARE(container.value(u"image"_s).toString(), u"swamp-worker:latest"_s);
        QCOMPARE(mounts.count(u"/data"_s), size_t(1));
        QCOMPARE(mounts[u"/data"_s], cacheDir);
    }();
    if (QTest::currentTestFailed())
        return {};
    command.replace(command.indexOf(GuideUrl), m_harness.url());
    return inImage(command, mounts, environment, cacheDir);
}

// GitHub Actions: a step's ${{ secrets.X }} expressions evaluated in its `env:` and its `run:`
// script, run as Actions runs a `run:` script on Linux (bash -e) with that environment.
Launch tst_Recipes::githubActionsRecipe(const QJsonObject &step, const QString &token,
                                        const QString &cacheDir)
{
    QString script = step.value(u"run"_s).toString();
    if (step.value(u"name"_s).toString() != u"Connect Swamp worker" || script.isEmpty()) {
        QTest::qFail("no step named \"Connect Swamp worker\" with a run: script", __FILE__,
                     __LINE__);
        return {};
    }
    const std::map<QString, QString> secrets{{u"SWAMP_WORKER_TOKEN"_s, token}};
    QString error;
    std::map<QString, QString> environment;
    const QJsonObject env = step.value(u"env"_s).toObject();
    for (auto it = env.begin(); it != env.end(); ++it) {
        QString value = it.value().toString();
        if (!evaluateActions(&value, secrets, &error))
            break;
        environment[it.key()] = value;
    }
    if (error.isEmpty())
        evaluateActions(&script, secrets, &error);
    if (!error.isEmpty()) {
        QTest::qFail(qPrintable(error), __FILE__, __LINE__);
        return {};
    }
    const QString file = m_scratch.filePath(u"github-actions-step.sh"_s);
    writeText(file, edited(script, token, u"/tmp/swamp-worker"_s, cacheDir));
    return {u"bash"_s, {u"--noprofile"_s, u"--norc"_s, u"-e"_s, file}, environment, {}, {}, {}};
}

// cloud-init: write_files first (each file with its permissions), then the runcmd entry that
// connects the worker; cloud-init runs string entries with sh. The files land in the test's
// directory instead of their paths, and the command reads them there.
Launch tst_Recipes::cloudInitRecipe(const QJsonObject &userData, const QString &token,
                                    const QString &cacheDir)
{
    const QJsonArray runcmd = userData.value(u"runcmd"_s).toArray();
    QString command;
    for (const QJsonValue &entry : runcmd) {
        if (entry.isString() && entry.toString().contains(u"swamp worker connect"))
            command = entry.toString();
    }
    if (command.isEmpty()) {
        QTest::qFail("no runcmd entry runs swamp worker connect", __FILE__, __LINE__);
        return {};
    }
    command = edited(command, token, u"/var/lib/swamp-worker"_s, cacheDir);
    for (const QJsonValue &value : userData.value(u"write_files"_s).toArray()) {
        const QJsonObject file = value.toObject();
        const QString path = file.value(u"path"_s).toString();
        const int mode = fileMode(file.value(u"permissions"_s).toString(u"0644"_s));
        if (path.isEmpty() || mode < 0) {
            QTest::qFail("a write_files entry without a path or with a bad mode", __FILE__, __LINE__);
            return {};
        }
        const QString here = m_scratch.filePath(u"cloud-init-"_s + QFileInfo(path).fileName());
        writeSecret(here, file.value(u"content"_s).toString().replace(TokenPlaceholder, token),
                    uint(mode));
        command.replace(path, here);
    }
    return {u"/bin/sh"_s, {u"-c"_s, command}, {}, {}, {}, {}};
}

// systemd: swamp-worker.service's ExecStart= expanded with its Environment=, its example
// worker.env and the token as the credential LoadCredential= hands it (a file only the unit's
// user, root, may read); the StateDirectory= is the test's cache dir.
Launch tst_Recipes::systemdWorkerRecipe(const QString &token, const QString &cacheDir, bool configFile)
{
    const UnitFile unit = parseUnit(readText(sourcePath(u"deploy/systemd/swamp-worker.service"_s)));
    std::map<QString, QString> environment;
    for (const QString &assignment : unitValues(unit, u"Service/Environment"_s)) {
        for (const QString &word : systemdWords(assignment))
            environment[word.section(u'=', 0, 0)] = word.section(u'=', 1);
    }
    const QStringList files = unitValues(unit, u"Service/EnvironmentFile"_s);
    const QStringList credentials = unitValues(unit, u"Service/LoadCredential"_s);
    [&] {
        QCOMPARE(files, QStringList{u"/etc/swamp/worker.env"_s});
        QCOMPARE(credentials, QStringList{u"token:/etc/swamp/worker.token"_s});
        QCOMPARE(unitValues(unit, u"Service/StateDirectory"_s), QStringList{u"swamp-worker"_s});
    }();
    if (QTest::currentTestFailed())
        return {};
    // EnvironmentFile= overrides Environment=.
    for (const auto &[key, value] :
         parseEnvironmentFile(readText(sourcePath(u"deploy/systemd/worker.env"_s))))
        environment[key] = value;
    [&] { QCOMPARE(environment[u"SWAMP_ORCHESTRATOR_URL"_s], GuideUrl); }();
    if (QTest::currentTestFailed())
        return {};
    environment[u"SWAMP_ORCHESTRATOR_URL"_s] = m_harness.url(); // the operator's edit of worker.env
    if (configFile) {
        // worker.env's comment: the URL in the INI file, SWAMP_ORCHESTRATOR_URL deleted, so the
        // unit's "${SWAMP_ORCHESTRATOR_URL}" is an empty argument.
        environment.erase(u"SWAMP_ORCHESTRATOR_URL"_s);
        const QString ini = m_scratch.filePath(u"worker.ini"_s);
        writeSecret(ini, u"[worker]\nurl = %1\nlabel = from=ini\n"_s.arg(m_harness.url()), 0600);
        environment[u"SWAMP_CONFIG"_s] = ini;
    }

    const QString credentialsDirectory = m_scratch.filePath(u"credentials/swamp-worker.service"_s);
    QDir().mkpath(credentialsDirectory);
    writeSecret(credentialsDirectory + u"/token"_s, token + u'\n', 0400);
    environment[u"CREDENTIALS_DIRECTORY"_s] = credentialsDirectory;
    environment[u"STATE_DIRECTORY"_s] = cacheDir;

    const QStringList execStart = unitValues(unit, u"Service/ExecStart"_s);
    const QStringList words =
        expandExecStart(execStart.value(0), environment, credentialsDirectory);
    [&] {
        QCOMPARE(execStart.size(), 1);
        QCOMPARE(words.mid(0, 8),
                 (QStringList{u"/usr/bin/swamp"_s, u"worker"_s, u"connect"_s,
                              configFile ? QString() : m_harness.url(),
                              u"--token-file"_s, credentialsDirectory + u"/token"_s,
                              u"--cache-dir"_s, u"/var/lib/swamp-worker"_s}));
    }();
    if (QTest::currentTestFailed())
        return {};
    Launch launch{swampBinary(), {}, environment, {}, {}, environment[u"SWAMP_WORKER_STEP_USER"_s]};
    for (const QString &word : words.mid(1))
        launch.arguments.append(word == u"/var/lib/swamp-worker" ? cacheDir : word);
    return launch;
}

// Our recipes are the guide's with one change: the token comes from a file or the environment
// instead of the command line. Everything else is the guide's, parsed (YAML data, shell words).
void tst_Recipes::recipesMatchTheGuide()
{
    // SSH: the same remote command with --token-file /dev/stdin, and the token file as input.
    const QStringList guideSsh = guideSshWords();
    const QStringList ssh = sshScriptWords();
    QCOMPARE(guideSsh.size(), 3);
    QCOMPARE(ssh.size(), 5);
    QCOMPARE(ssh.mid(0, 2), guideSsh.mid(0, 2));
    QCOMPARE(shellWords(ssh.at(2)),
             tokenOffTheCommandLine(shellWords(guideSsh.at(2)), u"/dev/stdin"_s));
    QCOMPARE(ssh.at(3), u"<"_s);

    // Container: the Dockerfile's comment shows the guide's `docker run` as written, and ours:
    // the same with --token-file and one more option, the read-only mount of the token file.
    const DockerRun guideDocker = parseDockerRun(guideDockerRunWords());
    QVERIFY2(guideDocker.error.isEmpty(), qPrintable(guideDocker.error));
    bool showsTheGuide = false;
    const DockerRun *hardened = nullptr;
    const QList<DockerRun> runs = dockerfileRuns();
    for (const DockerRun &run : runs) {
        QVERIFY2(run.error.isEmpty(), qPrintable(run.error));
        showsTheGuide = showsTheGuide || (run.options == guideDocker.options &&
                                          run.image == guideDocker.image &&
                                          run.command == guideDocker.command);
        if (run.command.contains(u"--token-file"_s))
            hardened = &run;
    }
    QVERIFY2(showsTheGuide, "the Dockerfile's comment does not show the guide's docker run");
    QVERIFY2(hardened, "the Dockerfile's comment shows no docker run with --token-file");
    const QString tokenMount =
        dockerEnvironment(dockerfileInstructions())[u"SWAMP_WORKER_TOKEN_FILE"_s];
    QVERIFY2(tokenMount.startsWith(u"/run/secrets/"_s), qPrintable(tokenMount));
    QCOMPARE(hardened->command, tokenOffTheCommandLine(guideDocker.command, tokenMount));
    QCOMPARE(hardened->image, guideDocker.image);
    QCOMPARE(hardened->options.size(), guideDocker.options.size() + 2);
    QCOMPARE(hardened->options.mid(0, guideDocker.options.size()), guideDocker.options);
    QCOMPARE(hardened->volumes.size(), 1);
    QCOMPARE(hardened->volumes.first().second, tokenMount);
    QCOMPARE(hardened->options.last(), hardened->volumes.first().first + u':' + tokenMount + u":ro"_s);

    // Kubernetes: the guide's Job with the Secret mounted read-only (mode 0400) instead of in
    // the environment, and --token-file naming the key's file.
    const QJsonObject guideJob = guideKubernetesJob();
    QJsonObject expected = guideJob;
    {
        const QStringList podPath{u"spec"_s, u"template"_s, u"spec"_s};
        QJsonObject pod = at(guideJob, podPath).toObject();
        QJsonArray containers = pod.value(u"containers"_s).toArray();
        QJsonObject container = containers.at(0).toObject();
        QJsonArray env = container.value(u"env"_s).toArray();
        QCOMPARE(env.size(), 1);
        const QString variable = env.at(0).toObject().value(u"name"_s).toString();
        const QJsonObject ref = at(env.at(0), {u"valueFrom"_s, u"secretKeyRef"_s}).toObject();
        const QString secretName = ref.value(u"name"_s).toString();
        const QString directory = u"/run/secrets/"_s + secretName;
        QStringList command = stringList(container.value(u"command"_s));
        QCOMPARE(command.value(command.indexOf(u"--token"_s) + 1), u"$(%1)"_s.arg(variable));
        command = tokenOffTheCommandLine(command, directory + u'/' + ref.value(u"key"_s).toString());
        container[u"command"_s] = QJsonArray::fromStringList(command);
        container.remove(u"env"_s);
        QJsonArray mounts = container.value(u"volumeMounts"_s).toArray();
        mounts.append(QJsonObject{{u"name"_s, u"token"_s},
                                  {u"mountPath"_s, directory},
                                  {u"readOnly"_s, u"true"_s}});
        container[u"volumeMounts"_s] = mounts;
        containers[0] = container;
        pod[u"containers"_s] = containers;
        QJsonArray volumes = pod.value(u"volumes"_s).toArray();
        volumes.append(QJsonObject{
            {u"name"_s, u"token"_s},
            {u"secret"_s, QJsonObject{{u"secretName"_s, secretName}, {u"defaultMode"_s, u"0400"_s}}}});
        pod[u"volumes"_s] = volumes;
        QJsonObject templ = at(guideJob, {u"spec"_s, u"template"_s}).toObject();
        templ[u"spec"_s] = pod;
        QJsonObject spec = guideJob.value(u"spec"_s).toObject();
        spec[u"template"_s] = templ;
        expected[u"spec"_s] = spec;
    }
    const QJsonObject job = kubernetesJob();
    QVERIFY2(job == expected, qPrintable(u"worker-job.yaml:\n"_s +
                                         QString::fromUtf8(QJsonDocument(job).toJson()) +
                                         u"\nexpected (the guide's Job, token from the file):\n"_s +
                                         QString::fromUtf8(QJsonDocument(expected).toJson())));

    // GitHub Actions: the guide's step with the secret in `env:` as SWAMP_WORKER_TOKEN, the
    // variable the worker reads, instead of after --token.
    const QJsonObject guideStep = guideActionsStep();
    const QJsonObject step = actionsStep();
    QCOMPARE(guideStep.keys(), (QStringList{u"name"_s, u"run"_s}));
    QCOMPARE(step.keys(), (QStringList{u"env"_s, u"name"_s, u"run"_s}));
    QCOMPARE(step.value(u"name"_s), guideStep.value(u"name"_s));
    // The expression is shell words of its own; as a placeholder it is one.
    const auto words = [](QString script) {
        QString error;
        evaluateActions(&script, {{u"SWAMP_WORKER_TOKEN"_s, u"<secret>"_s}}, &error);
        return shellWords(script);
    };
    const QStringList guideRun = words(guideStep.value(u"run"_s).toString());
    QCOMPARE(guideRun.value(guideRun.indexOf(u"--token"_s) + 1), u"<secret>"_s);
    QCOMPARE(words(step.value(u"run"_s).toString()), tokenOffTheCommandLine(guideRun, {}));
    QCOMPARE(step.value(u"env"_s).toObject(),
             (QJsonObject{{u"SWAMP_WORKER_TOKEN"_s, u"${{ secrets.SWAMP_WORKER_TOKEN }}"_s}}));
    const QJsonObject workflow =
        yamlDocuments(sourcePath(u"deploy/github-actions/swamp-worker.yml"_s)).at(0).toObject();
    QCOMPARE(workflow.value(u"on"_s).toObject().keys(), QStringList{u"workflow_dispatch"_s});

    // cloud-init: `<install swamp>` is our package; the guide's connect line with --token-file,
    // and the file written first by write_files, readable by root only.
    const QJsonObject guideData = guideUserData();
    QVERIFY(guideBlock(u"Cloud-init / user-data"_s).startsWith(u"#cloud-config\n"_s));
    QVERIFY(readText(sourcePath(u"deploy/cloud-init/user-data.yaml"_s)).startsWith(u"#cloud-config\n"_s));
    const QJsonArray guideRuncmd = guideData.value(u"runcmd"_s).toArray();
    const QJsonObject data = userData();
    const QJsonArray runcmd = data.value(u"runcmd"_s).toArray();
    QCOMPARE(guideData.keys(), QStringList{u"runcmd"_s});
    QCOMPARE(guideRuncmd.size(), 2);
    QCOMPARE(guideRuncmd.at(0).toString(), u"<install swamp>"_s);
    QVERIFY2(runcmd.at(runcmd.size() - 2).toString().startsWith(u"apt-get install "_s),
             "the package is not installed first");
    const QJsonArray writeFiles = data.value(u"write_files"_s).toArray();
    QCOMPARE(writeFiles.size(), 1);
    const QJsonObject tokenFile = writeFiles.at(0).toObject();
    QCOMPARE(tokenFile.value(u"permissions"_s).toString(), u"0600"_s);
    QCOMPARE(tokenFile.value(u"owner"_s).toString(), u"root:root"_s);
    QCOMPARE(tokenFile.value(u"content"_s).toString().trimmed(), TokenPlaceholder);
    QCOMPARE(shellWords(runcmd.last().toString()),
             tokenOffTheCommandLine(shellWords(guideRuncmd.last().toString()),
                                    tokenFile.value(u"path"_s).toString()));
}

// The worker image: Debian bookworm, runtime packages only, the /data volume, the token from a
// file, and its steps as an unprivileged account. The worker itself runs as root: that is what
// lets it run each step as the step user, which can then read neither its token nor its cache
// dir nor its memory (before, the image ran the worker as an unprivileged USER and the steps as
// that same user, who could read all of it).
void tst_Recipes::dockerfile()
{
    const QList<DockerInstruction> instructions = dockerfileInstructions();
    QStringList from;
    for (const DockerInstruction &instruction : instructions) {
        if (instruction.keyword == u"FROM")
            from.append(instruction.arguments);
    }
    QCOMPARE(from.size(), 1);
    QVERIFY2(from.first().startsWith(u"debian:bookworm"_s), qPrintable(from.first()));

    std::map<QString, QString> environment = dockerEnvironment(instructions);
    // The step user: named, not root, and an account of the image: the one the swamp package's
    // postinst creates when the image installs the package (initTestCase ran that postinst).
    const QString stepUser = environment[u"SWAMP_WORKER_STEP_USER"_s];
    QVERIFY2(!stepUser.isEmpty(), "the image does not set SWAMP_WORKER_STEP_USER");
    if (!m_noAccounts.isEmpty())
        QSKIP(qPrintable(m_noAccounts));
    const std::optional<PasswdEntry> account = m_etc.user(stepUser);
    QVERIFY2(account, qPrintable(u"the package's postinst creates no account "_s + stepUser));
    QVERIFY2(account->uid != 0 && account->gid != 0,
             qPrintable(u"%1 is uid %2, gid %3"_s.arg(stepUser).arg(account->uid).arg(account->gid)));
    // The worker runs as root, which --step-user needs.
    const QString user = lastInstruction(instructions, u"USER"_s).section(u':', 0, 0);
    QVERIFY2(user.isEmpty() || user == u"root" || user == u"0",
             qPrintable(u"USER "_s + user + u": the worker could not switch to the step user"_s));
    // The token from a file where Docker and Compose put secrets.
    QVERIFY2(environment[u"SWAMP_WORKER_TOKEN_FILE"_s].startsWith(u"/run/secrets/"_s),
             qPrintable(environment[u"SWAMP_WORKER_TOKEN_FILE"_s]));

    const QString volume = lastInstruction(instructions, u"VOLUME"_s);
    const QStringList volumes = volume.startsWith(u'[')
                                    ? stringList(QJsonDocument::fromJson(volume.toUtf8()).array())
                                    : volume.split(u' ', Qt::SkipEmptyParts);
    QVERIFY2(volumes.contains(u"/data"_s), qPrintable(u"VOLUME "_s + volume));
    QCOMPARE(environment[u"SWAMP_WORKER_CACHE_DIR"_s], u"/data"_s);

    // What apt installs: the swamp package (its Depends are checked by tst_package) and named
    // Debian packages, none of them for development, each one known to apt.
    QStringList packages;
    bool installsSwamp = false;
    for (const DockerInstruction &instruction : instructions) {
        if (instruction.keyword != u"RUN")
            continue;
        const QStringList words = shellWords(instruction.arguments);
        for (qsizetype i = 0; i + 1 < words.size(); ++i) {
            if (words.at(i) != u"apt-get" || !words.mid(i).contains(u"install"_s))
                continue;
            for (qsizetype j = words.indexOf(u"install"_s, i) + 1;
                 j < words.size() && words.at(j) != u"&&"; ++j) {
                const QString word = words.at(j);
                if (word.startsWith(u'-'))
                    continue;
                if (word.endsWith(u".deb"))
                    installsSwamp =
                        installsSwamp || QFileInfo(word).fileName().startsWith(u"swamp_"_s);
                else
                    packages.append(word);
            }
        }
        // Nothing removes the step account again.
        QVERIFY2(!words.contains(u"userdel"_s) && !words.contains(u"deluser"_s),
                 qPrintable(instruction.arguments));
    }
    QVERIFY2(installsSwamp, "the image does not install the swamp .deb");
    for (const QString &package : std::as_const(packages)) {
        QVERIFY2(!package.endsWith(u"-dev"_s), qPrintable(package));
        const Run show = runTool(u"apt-cache"_s, {u"show"_s, package});
        QVERIFY2(show.exitCode == 0 && show.out.contains(u"Package: "_s + package),
                 qPrintable(package + u" is not a Debian package: "_s + show.describe()));
    }
}

// The worker unit runs as root with only the capabilities the step user switch needs, steps as
// the package's account, per-step cgroups delegated to it, and a cache dir the step user may pass
// through (0711) but not list.
void tst_Recipes::systemdWorkerUnit()
{
    const UnitFile unit = parseUnit(readText(sourcePath(u"deploy/systemd/swamp-worker.service"_s)));
    QVERIFY2(unitValues(unit, u"Service/User"_s).isEmpty() &&
                 unitValues(unit, u"Service/DynamicUser"_s).isEmpty(),
             "the worker must run as root to run its steps as another user");
    QCOMPARE(unitValues(unit, u"Service/Environment"_s),
             QStringList{u"SWAMP_WORKER_STEP_USER=swamp-step"_s});
    if (!m_noAccounts.isEmpty())
        QSKIP(qPrintable(m_noAccounts));
    const std::optional<PasswdEntry> account = m_etc.user(u"swamp-step"_s);
    QVERIFY2(account && account->uid != 0, "the package's postinst creates no swamp-step");
    QCOMPARE(parseEnvironmentFile(readText(sourcePath(u"deploy/systemd/worker.env"_s)))
                 [u"SWAMP_WORKER_STEP_USER"_s],
             u"swamp-step"_s);

    QStringList capabilities;
    for (const QString &value : unitValues(unit, u"Service/CapabilityBoundingSet"_s))
        capabilities += value.split(u' ', Qt::SkipEmptyParts);
    capabilities.sort();
    QCOMPARE(capabilities, (QStringList{u"CAP_CHOWN"_s, u"CAP_DAC_OVERRIDE"_s, u"CAP_FOWNER"_s,
                                        u"CAP_KILL"_s, u"CAP_SETGID"_s, u"CAP_SETUID"_s}));
    QVERIFY(unitValues(unit, u"Service/AmbientCapabilities"_s).isEmpty());
    // ProtectControlGroups=yes would make /sys/fs/cgroup read-only, and the delegated cgroup
    // unusable.
    QCOMPARE(unitValues(unit, u"Service/Delegate"_s), QStringList{u"yes"_s});
    QVERIFY(!unitValues(unit, u"Service/ProtectControlGroups"_s).contains(u"yes"_s));
    QCOMPARE(unitValues(unit, u"Service/StateDirectoryMode"_s), QStringList{u"0711"_s});
    QCOMPARE(unitValues(unit, u"Service/NoNewPrivileges"_s), QStringList{u"yes"_s});
    QCOMPARE(unitValues(unit, u"Service/ProtectProc"_s), QStringList{u"invisible"_s});
}

void tst_Recipes::systemdUnitsVerify_data()
{
    QTest::addColumn<QString>("unit");
    QTest::addColumn<double>("maximumExposure");
    // The worker runs as root (to switch steps to their user) with six capabilities, and its
    // steps run inside its sandbox, so it keeps what builds and tests need (namespaces, JIT
    // memory, most system calls); the orchestrator needs none of that.
    QTest::newRow("swamp-serve") << u"swamp-serve.service"_s << 2.0;
    QTest::newRow("swamp-worker") << u"swamp-worker.service"_s << 5.0;
}

// systemd-analyze accepts the units without a single warning, and rates their sandboxing.
void tst_Recipes::systemdUnitsVerify()
{
    QFETCH(QString, unit);
    QFETCH(double, maximumExposure);
    const QString analyze = QStandardPaths::findExecutable(u"systemd-analyze"_s);
    QVERIFY2(!analyze.isEmpty(), "systemd-analyze is missing: run scripts/install-deps.sh");
    // verify checks that ExecStart's program exists: point it at the built binary.
    const QString copy = m_scratch.filePath(unit);
    QString text = readText(sourcePath(u"deploy/systemd/"_s + unit));
    QVERIFY(!text.isEmpty());
    writeText(copy, text.replace(u"/usr/bin/swamp"_s, swampBinary()));

    const Run verify = runTool(analyze, {u"verify"_s, u"--man=no"_s, copy});
    QVERIFY2(verify.exitCode == 0 && verify.err.isEmpty() && verify.out.isEmpty(),
             qPrintable(verify.describe()));

    const Run security = runTool(analyze, {u"security"_s, u"--offline=yes"_s, copy});
    QCOMPARE_EXIT(security, 0);
    static const QRegularExpression overall(u"Overall exposure level for \\S+: ([0-9.]+)"_s);
    const QRegularExpressionMatch match = overall.match(security.out);
    QVERIFY2(match.hasMatch(), qPrintable(security.describe()));
    qInfo("%s: exposure %s", qPrintable(unit), qPrintable(match.captured(1)));
    QVERIFY2(match.captured(1).toDouble() <= maximumExposure, qPrintable(security.out));
}

// swamp-serve.service's ExecStart= with its example serve.env serves, writes the admin.json the
// unit's comment points admin commands at, and stops cleanly on SIGTERM.
void tst_Recipes::systemdServeUnit_data()
{
    QTest::addColumn<bool>("configFile");
    QTest::newRow("serve.env") << false;
    // serve.env's comment: SWAMP_CONFIG names an INI file, and SWAMP_LISTEN is deleted.
    QTest::newRow("config-file") << true;
}

void tst_Recipes::systemdServeUnit()
{
    QFETCH(bool, configFile);
    const UnitFile unit = parseUnit(readText(sourcePath(u"deploy/systemd/swamp-serve.service"_s)));
    QCOMPARE(unitValues(unit, u"Service/EnvironmentFile"_s),
             QStringList{u"-/etc/swamp/serve.env"_s});
    QCOMPARE(unitValues(unit, u"Service/StateDirectory"_s), QStringList{u"swamp"_s});
    std::map<QString, QString> environment;
    for (const QString &assignment : unitValues(unit, u"Service/Environment"_s)) {
        for (const QString &word : systemdWords(assignment))
            environment[word.section(u'=', 0, 0)] = word.section(u'=', 1);
    }
    // EnvironmentFile= overrides Environment=.
    for (const auto &[key, value] :
         parseEnvironmentFile(readText(sourcePath(u"deploy/systemd/serve.env"_s))))
        environment[key] = value;
    QCOMPARE(environment[u"SWAMP_LISTEN"_s], u"127.0.0.1:9090"_s);
    environment[u"SWAMP_LISTEN"_s] = u"127.0.0.1:0"_s; // tests never take a fixed port
    if (configFile) {
        environment.erase(u"SWAMP_LISTEN"_s);
        const QString ini = m_scratch.filePath(u"swamp.ini"_s);
        writeText(ini, u"[serve]\nlisten = 127.0.0.1:0\nretention = 1h\n"_s);
        environment[u"SWAMP_CONFIG"_s] = ini;
    }
    const QString stateDirectory = m_scratch.filePath(u"serve-state-"_s + QString::fromLatin1(QTest::currentDataTag()));
    environment[u"STATE_DIRECTORY"_s] = stateDirectory;

    const QStringList words =
        expandExecStart(unitValues(unit, u"Service/ExecStart"_s).value(0), environment, {});
    // SWAMP_LISTEN reaches swamp serve in its environment, as a config file's keys would.
    QCOMPARE(words.mid(0, 4),
             (QStringList{u"/usr/bin/swamp"_s, u"serve"_s, u"--data-dir"_s, u"/var/lib/swamp"_s}));
    Launch launch{swampBinary(), {}, environment, {}};
    for (const QString &word : words.mid(1))
        launch.arguments.append(word == u"/var/lib/swamp" ? stateDirectory : word);
    Child *serve = start(u"swamp-serve"_s, launch);
    QVERIFY2(
        QTest::qWaitFor([&] { return !serve->isRunning() || serve->outContains(u"\n"_s); }, 30000),
        qPrintable(serve->describe()));
    static const QRegularExpression first(
        u"^Listening on ws://127\\.0\\.0\\.1:\\d+ \\(swamp \\S+, data (.+)\\)\n"_s);
    const QRegularExpressionMatch match = first.match(serve->out());
    QVERIFY2(match.hasMatch(), qPrintable(serve->describe()));
    QCOMPARE(match.captured(1), stateDirectory);

    // `sudo SWAMP_DATA_DIR=/var/lib/swamp swamp worker list`, as the unit's comment says.
    QProcessEnvironment admin = Harness::baseEnvironment();
    admin.insert(u"SWAMP_DATA_DIR"_s, stateDirectory);
    const Run list = m_harness.cli({u"worker"_s, u"list"_s, u"--json"_s}, swampBinary(), admin);
    QCOMPARE_EXIT(list, 0);
    QVERIFY2(list.json().value(u"workers"_s).isArray(), qPrintable(list.describe()));

    serve->signal(SIGTERM);
    QVERIFY2(serve->waitForExit(30000), qPrintable(serve->describe()));
    QVERIFY2(serve->exitCode() == 0, qPrintable(serve->describe()));
}

QTEST_GUILESS_MAIN(tst_Recipes)
#include "tst_recipes.moc"
