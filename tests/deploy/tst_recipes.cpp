// The deploy recipes of deploy/ and docs/operations.md, run as written against a live
// orchestrator: each recipe's `swamp worker connect` command is taken from the recipe by parsing
// it in its own syntax (YAML with PyYAML, shell words as a POSIX shell splits them, Dockerfile
// instructions, systemd unit and environment files), the operator's three edits are applied
// (the orchestrator URL, a fresh token, and a temporary directory for the cache dir), and the
// worker it starts must enroll and then stop cleanly.

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

// The words every worker recipe runs, as in the guide, with the token filled in.
QStringList guideConnectWords(const QString &token, const QString &cacheDir)
{
    return {u"swamp"_s,   u"worker"_s, u"connect"_s,     GuideUrl,
            u"--token"_s, token,       u"--cache-dir"_s, cacheDir};
}

} // namespace

// One recipe, ready to start: what runs, with which environment additions and working dir.
struct Launch
{
    QString program;
    QStringList arguments;
    std::map<QString, QString> environment;
    QString workingDirectory;
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
    void systemdUnitsVerify_data();
    void systemdUnitsVerify();
    void systemdServeUnit();

private:
    Launch sshRecipe(const QString &token, const QString &cacheDir);
    Launch dockerRunRecipe(const QString &token, const QString &cacheDir);
    Launch dockerCmdRecipe(const QString &token, const QString &cacheDir);
    Launch kubernetesRecipe(const QString &token, const QString &cacheDir);
    Launch githubActionsRecipe(const QString &token, const QString &cacheDir);
    Launch cloudInitRecipe(const QString &token, const QString &cacheDir);
    Launch systemdWorkerRecipe(const QString &token, const QString &cacheDir);
    // A shell script of a recipe with the operator's edits: URL, token, cache dir.
    QString edited(QString script, const QString &token, const QString &guideCacheDir,
                   const QString &cacheDir) const;
    // The Dockerfile's instructions.
    QList<DockerInstruction> dockerfileInstructions();
    Launch inImage(const QStringList &command, const QString &cacheDir);
    Child *start(const QString &name, const Launch &launch);

    Harness m_harness;
    QTemporaryDir m_scratch;
    QString m_binDir; // holds `swamp`, first in PATH: what the recipes' `swamp` finds
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
    m_binDir = m_scratch.filePath(u"bin"_s);
    QVERIFY(QDir().mkpath(m_binDir));
    QVERIFY(QFile::link(swampBinary(), m_binDir + u"/swamp"_s));
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
    // Its own process group, so that cleanup() also reaches a worker a recipe's shell started.
    child->process.setChildProcessModifier([] { ::setpgid(0, 0); });
    child->process.start(launch.program, launch.arguments);
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

void tst_Recipes::workerRecipes_data()
{
    QTest::addColumn<QString>("recipe");
    for (const char *recipe : {"ssh", "docker-run", "docker-cmd", "kubernetes", "github-actions",
                               "cloud-init", "systemd"})
        QTest::newRow(recipe) << QString::fromLatin1(recipe);
}

// Each recipe's worker enrolls (it is in `swamp worker list`), then SIGTERM, as `docker stop`,
// Kubernetes and systemd send it, drains it: it exits 0 and the orchestrator sees it go.
void tst_Recipes::workerRecipes()
{
    QFETCH(QString, recipe);
    const QString name = u"recipe-"_s + recipe;
    const QString token = m_harness.createToken(name);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = m_scratch.filePath(u"cache-"_s + recipe);

    Launch launch;
    if (recipe == u"ssh")
        launch = sshRecipe(token, cacheDir);
    else if (recipe == u"docker-run")
        launch = dockerRunRecipe(token, cacheDir);
    else if (recipe == u"docker-cmd")
        launch = dockerCmdRecipe(token, cacheDir);
    else if (recipe == u"kubernetes")
        launch = kubernetesRecipe(token, cacheDir);
    else if (recipe == u"github-actions")
        launch = githubActionsRecipe(token, cacheDir);
    else if (recipe == u"cloud-init")
        launch = cloudInitRecipe(token, cacheDir);
    else
        launch = systemdWorkerRecipe(token, cacheDir);
    if (QTest::currentTestFailed())
        return;
    QVERIFY(!launch.program.isEmpty());

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

    QCOMPARE(::kill(workerPid, SIGTERM), 0);
    QVERIFY2(worker->waitForExit(30000), qPrintable(worker->describe()));
    QVERIFY2(worker->exitCode() == 0, qPrintable(worker->describe()));
    QVERIFY2(worker->outContains(u"stopped: drained"_s), qPrintable(worker->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(m_harness.workerStatus(name), u"disconnected"_s, 30000);
}

// SSH: the guide's one-liner; the remote end runs the quoted command with its shell.
Launch tst_Recipes::sshRecipe(const QString &token, const QString &cacheDir)
{
    const QString block = guideBlock(u"SSH:"_s);
    const QStringList words = shellWords(block);
    if (words.size() != 3 || words.at(0) != u"ssh" || words.at(1) != u"worker-host") {
        QTest::qFail(qPrintable(u"expected `ssh worker-host '<command>'`, found: "_s + block),
                     __FILE__, __LINE__);
        return {};
    }
    const QString remote = words.at(2);
    [&] {
        QCOMPARE(shellWords(remote),
                 guideConnectWords(TokenPlaceholder, u"/var/lib/swamp-worker"_s));
    }();
    if (QTest::currentTestFailed())
        return {};
    return {u"/bin/sh"_s,
            {u"-c"_s, edited(remote, token, u"/var/lib/swamp-worker"_s, cacheDir)},
            {},
            {}};
}

QList<DockerInstruction> tst_Recipes::dockerfileInstructions()
{
    const QString text = readText(sourcePath(u"deploy/docker/Dockerfile"_s));
    if (text.isEmpty())
        QTest::qFail("deploy/docker/Dockerfile is missing or empty", __FILE__, __LINE__);
    return dockerInstructions(text);
}

// A command as the image runs it: the image's ENV, WORKDIR and PATH (the package puts swamp in
// /usr/bin), with its /data volume on the test's cache dir.
Launch tst_Recipes::inImage(const QStringList &command, const QString &cacheDir)
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
    launch.program = swampBinary();
    for (const QString &word : command.mid(1))
        launch.arguments.append(word == u"/data" ? cacheDir : word);
    for (const auto &[key, value] : dockerEnvironment(instructions))
        launch.environment[key] = value == u"/data" ? cacheDir : value;
    const QString workdir = lastInstruction(instructions, u"WORKDIR"_s);
    if (workdir == u"/data") {
        QDir().mkpath(cacheDir);
        launch.workingDirectory = cacheDir;
    }
    return launch;
}

// Container: the guide's `docker run` line; what follows the image name is the command.
Launch tst_Recipes::dockerRunRecipe(const QString &token, const QString &cacheDir)
{
    const QString block = guideBlock(u"Container:"_s);
    QStringList words = shellWords(block);
    if (words.size() < 3 || words.at(0) != u"docker" || words.at(1) != u"run") {
        QTest::qFail(qPrintable(u"expected `docker run ...`, found: "_s + block), __FILE__,
                     __LINE__);
        return {};
    }
    qsizetype image = 2;
    while (image < words.size() && words.at(image).startsWith(u'-'))
        ++image;
    if (image >= words.size() || words.at(image) != u"swamp-worker") {
        QTest::qFail(
            qPrintable(u"expected the image swamp-worker (the Dockerfile's tag): "_s + block),
            __FILE__, __LINE__);
        return {};
    }
    QStringList command = words.mid(image + 1);
    [&] { QCOMPARE(command, guideConnectWords(TokenPlaceholder, u"/data"_s)); }();
    if (QTest::currentTestFailed())
        return {};
    command.replace(command.indexOf(TokenPlaceholder), token);
    command.replace(command.indexOf(GuideUrl), m_harness.url());
    return inImage(command, cacheDir);
}

// The image without a command: its CMD, configured by environment as its comment shows.
Launch tst_Recipes::dockerCmdRecipe(const QString &token, const QString &cacheDir)
{
    const QString cmd = lastInstruction(dockerfileInstructions(), u"CMD"_s);
    const QStringList command = stringList(QJsonDocument::fromJson(cmd.toUtf8()).array());
    [&] { QCOMPARE(command, (QStringList{u"swamp"_s, u"worker"_s, u"connect"_s})); }();
    if (QTest::currentTestFailed())
        return {};
    Launch launch = inImage(command, cacheDir);
    const QString tokenFile = m_scratch.filePath(u"docker-cmd-token"_s);
    writeText(tokenFile, token + u'\n');
    launch.environment[u"SWAMP_ORCHESTRATOR_URL"_s] = m_harness.url();
    launch.environment[u"SWAMP_WORKER_TOKEN_FILE"_s] = tokenFile;
    return launch;
}

// Kubernetes: the Job's container command with $(VAR) references expanded from the container's
// env, whose secretKeyRef points into the Secret of worker-token-secret.yaml.
Launch tst_Recipes::kubernetesRecipe(const QString &token, const QString &cacheDir)
{
    const QJsonObject job =
        yamlDocuments(sourcePath(u"deploy/kubernetes/worker-job.yaml"_s)).at(0).toObject();
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
    // The cache dir is the mount of a volume of the pod.
    QString mountPath;
    const QJsonArray volumes = pod.value(u"volumes"_s).toArray();
    for (const QJsonValue &mount : container.value(u"volumeMounts"_s).toArray()) {
        for (const QJsonValue &volume : volumes) {
            if (volume.toObject().value(u"name"_s) == mount.toObject().value(u"name"_s))
                mountPath = mount.toObject().value(u"mountPath"_s).toString();
        }
    }
    [&] {
        QCOMPARE(container.value(u"image"_s).toString(), u"swamp-worker:latest"_s);
        QCOMPARE(mountPath, u"/data"_s);
        QCOMPARE(command, guideConnectWords(token, mountPath));
    }();
    if (QTest::currentTestFailed())
        return {};
    command.replace(command.indexOf(GuideUrl), m_harness.url());
    Launch launch = inImage(command, cacheDir);
    for (const auto &[key, value] : environment)
        launch.environment[key] = value;
    return launch;
}

// GitHub Actions: the workflow's "Connect Swamp worker" step, its ${{ secrets.X }} expressions
// evaluated, run as Actions runs a `run:` script on Linux (bash -e).
Launch tst_Recipes::githubActionsRecipe(const QString &token, const QString &cacheDir)
{
    const QJsonObject workflow =
        yamlDocuments(sourcePath(u"deploy/github-actions/swamp-worker.yml"_s)).at(0).toObject();
    QString script;
    const QJsonObject jobs = workflow.value(u"jobs"_s).toObject();
    for (const QJsonValue &job : jobs) {
        for (const QJsonValue &step : job.toObject().value(u"steps"_s).toArray()) {
            if (step.toObject().value(u"name"_s).toString() == u"Connect Swamp worker")
                script = step.toObject().value(u"run"_s).toString();
        }
    }
    if (script.isEmpty()) {
        QTest::qFail("no step named \"Connect Swamp worker\" with a run: script", __FILE__,
                     __LINE__);
        return {};
    }
    const std::map<QString, QString> secrets{{u"SWAMP_WORKER_TOKEN"_s, token}};
    static const QRegularExpression expression(u"\\$\\{\\{\\s*([^}]*?)\\s*\\}\\}"_s);
    QRegularExpressionMatch match;
    while ((match = expression.match(script)).hasMatch()) {
        const QString name = match.captured(1).section(u'.', 1);
        if (!match.captured(1).startsWith(u"secrets.") || !secrets.count(name)) {
            QTest::qFail(qPrintable(u"unexpected expression "_s + match.captured(0)), __FILE__,
                         __LINE__);
            return {};
        }
        script.replace(match.capturedStart(), match.capturedLength(), secrets.at(name));
    }
    [&] { QCOMPARE(shellWords(script), guideConnectWords(token, u"/tmp/swamp-worker"_s)); }();
    if (QTest::currentTestFailed())
        return {};
    const QString file = m_scratch.filePath(u"github-actions-step.sh"_s);
    writeText(file, edited(script, token, u"/tmp/swamp-worker"_s, cacheDir));
    return {u"bash"_s, {u"--noprofile"_s, u"--norc"_s, u"-e"_s, file}, {}, {}};
}

// cloud-init: the runcmd entry that connects the worker; cloud-init runs string entries with sh.
Launch tst_Recipes::cloudInitRecipe(const QString &token, const QString &cacheDir)
{
    const QString path = sourcePath(u"deploy/cloud-init/user-data.yaml"_s);
    if (readText(path).section(u'\n', 0, 0) != u"#cloud-config") {
        QTest::qFail("user-data.yaml does not start with #cloud-config: cloud-init would ignore it",
                     __FILE__, __LINE__);
        return {};
    }
    const QJsonArray runcmd = yamlDocuments(path).at(0).toObject().value(u"runcmd"_s).toArray();
    QString command;
    for (const QJsonValue &entry : runcmd) {
        if (entry.isString() && entry.toString().contains(u"swamp worker connect"))
            command = entry.toString();
    }
    [&] {
        QVERIFY2(!command.isEmpty(), "no runcmd entry runs swamp worker connect");
        QCOMPARE(shellWords(command),
                 guideConnectWords(TokenPlaceholder, u"/var/lib/swamp-worker"_s));
        // The entries before it install our package.
        QVERIFY2(runcmd.at(runcmd.size() - 2).toString().contains(u"apt-get install"_s),
                 "the package is not installed first");
    }();
    if (QTest::currentTestFailed())
        return {};
    return {u"/bin/sh"_s,
            {u"-c"_s, edited(command, token, u"/var/lib/swamp-worker"_s, cacheDir)},
            {},
            {}};
}

// systemd: swamp-worker.service's ExecStart= expanded with its example worker.env and the token
// as the credential LoadCredential= hands it; the StateDirectory= is the test's cache dir.
Launch tst_Recipes::systemdWorkerRecipe(const QString &token, const QString &cacheDir)
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
    for (const auto &[key, value] :
         parseEnvironmentFile(readText(sourcePath(u"deploy/systemd/worker.env"_s))))
        environment[key] = value;
    [&] { QCOMPARE(environment[u"SWAMP_ORCHESTRATOR_URL"_s], GuideUrl); }();
    if (QTest::currentTestFailed())
        return {};
    environment[u"SWAMP_ORCHESTRATOR_URL"_s] = m_harness.url(); // the operator's edit of worker.env

    const QString credentialsDirectory = m_scratch.filePath(u"credentials/swamp-worker.service"_s);
    QDir().mkpath(credentialsDirectory);
    writeText(credentialsDirectory + u"/token"_s, token + u'\n');
    environment[u"CREDENTIALS_DIRECTORY"_s] = credentialsDirectory;
    environment[u"STATE_DIRECTORY"_s] = cacheDir;

    const QStringList execStart = unitValues(unit, u"Service/ExecStart"_s);
    const QStringList words =
        expandExecStart(execStart.value(0), environment, credentialsDirectory);
    [&] {
        QCOMPARE(execStart.size(), 1);
        QCOMPARE(words.mid(0, 8),
                 (QStringList{u"/usr/bin/swamp"_s, u"worker"_s, u"connect"_s, m_harness.url(),
                              u"--token-file"_s, credentialsDirectory + u"/token"_s,
                              u"--cache-dir"_s, u"/var/lib/swamp-worker"_s}));
    }();
    if (QTest::currentTestFailed())
        return {};
    Launch launch{swampBinary(), {}, environment, {}};
    for (const QString &word : words.mid(1))
        launch.arguments.append(word == u"/var/lib/swamp-worker" ? cacheDir : word);
    return launch;
}

// The deploy/ files carry the guide's recipes as written: the same YAML, parsed.
void tst_Recipes::recipesMatchTheGuide()
{
    const QString kubernetes = guideBlock(u"Kubernetes Job:"_s);
    QVERIFY(!kubernetes.isEmpty());
    QCOMPARE(yamlDocuments(sourcePath(u"deploy/kubernetes/worker-job.yaml"_s)),
             yamlDocuments(u"docs"_s, kubernetes));

    const QJsonArray guideSteps =
        yamlDocuments(u"docs"_s, guideBlock(u"CI runner step (GitHub Actions):"_s)).at(0).toArray();
    QCOMPARE(guideSteps.size(), 1);
    const QJsonObject workflow =
        yamlDocuments(sourcePath(u"deploy/github-actions/swamp-worker.yml"_s)).at(0).toObject();
    const QJsonArray steps = workflow.value(u"jobs"_s)
                                 .toObject()
                                 .value(u"swamp-worker"_s)
                                 .toObject()
                                 .value(u"steps"_s)
                                 .toArray();
    QVERIFY(!steps.isEmpty());
    QCOMPARE(steps.last().toObject(), guideSteps.at(0).toObject());
    QCOMPARE(workflow.value(u"on"_s).toObject().keys(), QStringList{u"workflow_dispatch"_s});

    const QString cloudGuide = guideBlock(u"Cloud-init / user-data"_s);
    QVERIFY(cloudGuide.startsWith(u"#cloud-config\n"_s));
    const QJsonArray guideRuncmd =
        yamlDocuments(u"docs"_s, cloudGuide).at(0).toObject().value(u"runcmd"_s).toArray();
    const QJsonArray runcmd = yamlDocuments(sourcePath(u"deploy/cloud-init/user-data.yaml"_s))
                                  .at(0)
                                  .toObject()
                                  .value(u"runcmd"_s)
                                  .toArray();
    QCOMPARE(guideRuncmd.size(), 2);
    QCOMPARE(guideRuncmd.at(0).toString(), u"<install swamp>"_s);
    QCOMPARE(runcmd.last(), guideRuncmd.last());
}

// The worker image: Debian bookworm, runtime packages only, a non-root user, the /data volume.
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

    const QString user = lastInstruction(instructions, u"USER"_s).section(u':', 0, 0);
    QVERIFY2(!user.isEmpty() && user != u"root" && user != u"0", qPrintable(u"USER "_s + user));

    const QString volume = lastInstruction(instructions, u"VOLUME"_s);
    const QStringList volumes = volume.startsWith(u'[')
                                    ? stringList(QJsonDocument::fromJson(volume.toUtf8()).array())
                                    : volume.split(u' ', Qt::SkipEmptyParts);
    QVERIFY2(volumes.contains(u"/data"_s), qPrintable(u"VOLUME "_s + volume));
    QCOMPARE(dockerEnvironment(instructions)[u"SWAMP_WORKER_CACHE_DIR"_s], u"/data"_s);

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
    }
    QVERIFY2(installsSwamp, "the image does not install the swamp .deb");
    for (const QString &package : std::as_const(packages)) {
        QVERIFY2(!package.endsWith(u"-dev"_s), qPrintable(package));
        const Run show = runTool(u"apt-cache"_s, {u"show"_s, package});
        QVERIFY2(show.exitCode == 0 && show.out.contains(u"Package: "_s + package),
                 qPrintable(package + u" is not a Debian package: "_s + show.describe()));
    }
}

void tst_Recipes::systemdUnitsVerify_data()
{
    QTest::addColumn<QString>("unit");
    QTest::addColumn<double>("maximumExposure");
    // The worker's steps run inside its sandbox, so it keeps what builds and tests need
    // (namespaces, JIT memory, any system call); the orchestrator needs none of that.
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
void tst_Recipes::systemdServeUnit()
{
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
    const QString stateDirectory = m_scratch.filePath(u"serve-state"_s);
    environment[u"STATE_DIRECTORY"_s] = stateDirectory;

    const QStringList words =
        expandExecStart(unitValues(unit, u"Service/ExecStart"_s).value(0), environment, {});
    QCOMPARE(words.mid(0, 6),
             (QStringList{u"/usr/bin/swamp"_s, u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s,
                          u"--data-dir"_s, u"/var/lib/swamp"_s}));
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
