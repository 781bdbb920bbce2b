#include "deploysnippets.h"

#include <QUrl>

namespace Swamp::Console {

namespace {

// The commands that put swamp on a fresh Debian 12 machine as root (the cloud-init recipe's
// "<install swamp>"), one a line. The URL was checked: no quote, no space.
QStringList installCommands(const QString &packageUrl)
{
    return {QStringLiteral("apt-get update"),
            QStringLiteral("apt-get install -y --no-install-recommends ca-certificates curl"),
            QStringLiteral("curl -fsSL -o /tmp/swamp.deb '%1'").arg(packageUrl),
            QStringLiteral("apt-get install -y --no-install-recommends /tmp/swamp.deb")};
}

DeploySnippet ssh(const QString &url, const QString &token)
{
    // The token reaches the worker on its standard input: on no command line (printf is a shell
    // builtin) and on no disk.
    const QString text = QStringLiteral(
        "# %3\n"
        "host=worker-host\n"
        "printf '%s\\n' '%2' | ssh \"$host\" \\\n"
        "  'swamp worker connect %1 --token-file /dev/stdin --cache-dir /var/lib/swamp-worker'\n")
                             .arg(url, token, DeploySnippets::tr("The machine that runs the worker, with swamp installed:"));
    return {QStringLiteral("ssh"), DeploySnippets::tr("SSH"), text, text};
}

DeploySnippet container(const QString &url, const QString &token)
{
    const QString text = QStringLiteral(
        "# %3\n"
        "#   docker build -t swamp-worker -f deploy/docker/Dockerfile build/packages\n"
        "docker run -d --name swamp-worker -v swamp-worker-cache:/data swamp-worker \\\n"
        "  swamp worker connect %1 \\\n"
        "  --token %2 \\\n"
        "  --cache-dir /data\n")
                             .arg(url, token, DeploySnippets::tr("The image of deploy/docker/Dockerfile:"));
    return {QStringLiteral("container"), DeploySnippets::tr("Container"), text, text};
}

DeploySnippet kubernetes(const QString &url, const QString &token)
{
    const QString text = QStringLiteral(
        "# %3\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        "  name: swamp-worker-token\n"
        "type: Opaque\n"
        "stringData:\n"
        "  token: %2\n"
        "---\n"
        "apiVersion: batch/v1\n"
        "kind: Job\n"
        "metadata:\n"
        "  name: swamp-worker\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: worker\n"
        "          image: swamp-worker:latest\n"
        "          command:\n"
        "            - swamp\n"
        "            - worker\n"
        "            - connect\n"
        "            - %1\n"
        "            - --token\n"
        "            - $(WORKER_TOKEN)\n"
        "            - --cache-dir\n"
        "            - /data\n"
        "          env:\n"
        "            - name: WORKER_TOKEN\n"
        "              valueFrom:\n"
        "                secretKeyRef:\n"
        "                  name: swamp-worker-token\n"
        "                  key: token\n"
        "          volumeMounts:\n"
        "            - name: cache\n"
        "              mountPath: /data\n"
        "      volumes:\n"
        "        - name: cache\n"
        "          emptyDir: {}\n"
        "      restartPolicy: OnFailure\n")
                             .arg(url, token,
                                  DeploySnippets::tr("The image of deploy/docker/Dockerfile, pushed where the cluster "
                                                     "pulls swamp-worker:latest from"));
    return {QStringLiteral("kubernetes"), DeploySnippets::tr("Kubernetes Job"), text, QString()};
}

DeploySnippet githubActions(const QString &url, const QString &token, const QString &packageUrl)
{
    const QString connect = QStringLiteral("swamp worker connect %1 --cache-dir /tmp/swamp-worker").arg(url);
    QString text = QStringLiteral("# %1\n#   gh secret set SWAMP_WORKER_TOKEN --body '%2'\n# %3\n")
                       .arg(DeploySnippets::tr("Store the token as a repository secret first:"), token,
                            DeploySnippets::tr("Steps of a job in a Debian 12 container (container: debian:bookworm):"));
    QString shell;
    if (!packageUrl.isEmpty()) {
        const QStringList install = installCommands(packageUrl);
        text += QStringLiteral("- name: Install swamp\n  run: |\n");
        for (const QString &line : install)
            text += QStringLiteral("    ") + line + u'\n';
        shell = install.join(u'\n') + u'\n';
    }
    // The token reaches the worker in its environment, not on its command line.
    text += QStringLiteral("- name: Connect Swamp worker\n"
                           "  env:\n"
                           "    SWAMP_WORKER_TOKEN: ${{ secrets.SWAMP_WORKER_TOKEN }}\n"
                           "  run: |\n"
                           "    %1\n").arg(connect);
    shell += connect + u'\n';
    return {QStringLiteral("github-actions"), DeploySnippets::tr("GitHub Actions"), text, shell, true};
}

DeploySnippet cloudInit(const QString &url, const QString &token, const QString &packageUrl)
{
    // The token in a root-only file that write_files puts down before runcmd runs.
    QStringList commands = packageUrl.isEmpty() ? QStringList() : installCommands(packageUrl).mid(2);
    commands << QStringLiteral("swamp worker connect %1 --token-file /etc/swamp/worker.token "
                               "--cache-dir /var/lib/swamp-worker").arg(url);
    QString text = QStringLiteral("#cloud-config\n"
                                  "package_update: true\n"
                                  "packages:\n"
                                  "  - ca-certificates\n"
                                  "  - curl\n"
                                  "write_files:\n"
                                  "  - path: /etc/swamp/worker.token\n"
                                  "    owner: root:root\n"
                                  "    permissions: '0600'\n"
                                  "    content: |\n"
                                  "      %1\n"
                                  "runcmd:\n").arg(token);
    for (const QString &command : std::as_const(commands))
        text += QStringLiteral("  - ") + command + u'\n';
    return {QStringLiteral("cloud-init"), DeploySnippets::tr("cloud-init"), text, commands.join(u'\n') + u'\n', true};
}

} // namespace

QString DeploySnippets::checkPackageUrl(const QString &url)
{
    const QUrl parsed(url, QUrl::StrictMode);
    if (!parsed.isValid() || (parsed.scheme() != u"https" && parsed.scheme() != u"http") || parsed.host().isEmpty())
        return tr("the package URL must be an http:// or https:// URL of swamp's .deb");
    if (url.contains(u'\'') || url.contains(u'"') || url.contains(u' ') || url.contains(u'#'))
        return tr("the package URL must not hold quotes, spaces or '#': percent-encode them");
    return {};
}

QList<DeploySnippet> DeploySnippets::all(const QString &url, const QString &token, const QString &packageUrl)
{
    // The token is "<name>.<hex>" and the URL is redacted (scheme, host, port): neither needs
    // shell or YAML quoting. A package URL that checkPackageUrl() refuses is left out.
    const QString package = checkPackageUrl(packageUrl).isEmpty() ? packageUrl : QString();
    return {ssh(url, token), container(url, token), kubernetes(url, token), githubActions(url, token, package),
            cloudInit(url, token, package)};
}

} // namespace Swamp::Console
