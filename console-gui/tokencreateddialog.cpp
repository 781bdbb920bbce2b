#include "tokencreateddialog.h"

#include "deploysnippets.h"

#include "version/version.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QStyle>
#include <QTabWidget>
#include <QVBoxLayout>

namespace Swamp::Console {

namespace {
QPushButton *copyButton(QWidget *parent, const QString &text)
{
    auto *button = new QPushButton(QApplication::style()->standardIcon(QStyle::SP_DialogSaveButton),
                                   text, parent);
    return button;
}
} // namespace

QString TokenCreatedDialog::warningText()
{
    return tr("This token is shown once and will not be displayed again — store it now.");
}

TokenCreatedDialog::TokenCreatedDialog(const QString &orchestratorUrl, const QString &token,
                                       const QString &summary, QWidget *parent)
    : QDialog(parent)
    , m_token(new QLineEdit(token, this))
    , m_tabs(new QTabWidget(this))
    , m_packageUrl(new QLineEdit(this))
    , m_workerUrl(orchestratorUrl)
{
    setAttribute(Qt::WA_DeleteOnClose);
    setWindowTitle(tr("Token created"));
    const QFont fixed = QFontDatabase::systemFont(QFontDatabase::FixedFont);

    auto *warningIcon = new QLabel(this);
    warningIcon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(32, 32));
    auto *warning = new QLabel(warningText(), this);
    warning->setWordWrap(true);
    QFont bold = warning->font();
    bold.setBold(true);
    warning->setFont(bold);
    auto *warningRow = new QHBoxLayout;
    warningRow->addWidget(warningIcon, 0, Qt::AlignTop);
    warningRow->addWidget(warning, 1);

    auto *summaryLabel = new QLabel(summary, this);
    summaryLabel->setWordWrap(true);

    m_token->setReadOnly(true);
    m_token->setFont(fixed);
    m_token->setCursorPosition(0);
    auto *copyToken = copyButton(this, tr("&Copy token"));
    connect(copyToken, &QPushButton::clicked, this, [this] {
        QApplication::clipboard()->setText(m_token->text());
    });
    auto *tokenRow = new QHBoxLayout;
    tokenRow->addWidget(m_token, 1);
    tokenRow->addWidget(copyToken);

    createSnippetPages(fixed);
    m_packageUrl->setPlaceholderText(tr("https://…/swamp_%1_amd64.deb").arg(Swamp::version()));
    m_packageUrl->setToolTip(tr("Where new machines download swamp's Debian package (built with 'cpack -G DEB'; "
                                "docs/operations.md, \"Deploy recipes\"). Remembered for the next token."));
    m_packageUrl->setText(QSettings().value(QStringLiteral("deploy/packageUrl")).toString());
    connect(m_packageUrl, &QLineEdit::textChanged, this, &TokenCreatedDialog::updateSnippets);
    auto *packageRow = new QHBoxLayout;
    auto *packageLabel = new QLabel(tr("&Package URL:"), this);
    packageLabel->setBuddy(m_packageUrl);
    packageRow->addWidget(packageLabel);
    packageRow->addWidget(m_packageUrl, 1);
    updateSnippets();

    auto *snippetsLabel = new QLabel(tr("Deploy a worker with this token:"), this);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(warningRow);
    layout->addLayout(tokenRow);
    layout->addWidget(summaryLabel);
    layout->addSpacing(8);
    layout->addWidget(snippetsLabel);
    layout->addLayout(packageRow);
    layout->addWidget(m_tabs, 1);
    layout->addWidget(buttons);
    copyToken->setFocus();
    resize(720, 560);
}

void TokenCreatedDialog::createSnippetPages(const QFont &fixed)
{
    const QList<DeploySnippet> snippets = DeploySnippets::all(m_workerUrl, m_token->text(), QString());
    for (const DeploySnippet &snippet : snippets) {
        auto *page = new QWidget(m_tabs);
        auto *text = new QPlainTextEdit(page);
        text->setObjectName(snippet.key);
        text->setReadOnly(true);
        text->setFont(fixed);
        text->setLineWrapMode(QPlainTextEdit::NoWrap);
        auto *note = new QLabel(page);
        note->setWordWrap(true);
        auto *copy = copyButton(page, tr("Copy %1 snippet").arg(snippet.title));
        connect(copy, &QPushButton::clicked, text, [text] {
            QApplication::clipboard()->setText(text->toPlainText());
        });
        auto *layout = new QVBoxLayout(page);
        layout->addWidget(text, 1);
        layout->addWidget(note);
        layout->addWidget(copy, 0, Qt::AlignRight);
        m_tabs->addTab(page, snippet.title);
        m_pages.append({text, note, copy});
    }
}

// The snippets that install swamp need the package URL: until it is given (and is one), they say
// so and cannot be copied, since they would not work as pasted.
void TokenCreatedDialog::updateSnippets()
{
    const QString packageUrl = m_packageUrl->text().trimmed();
    const QString problem = packageUrl.isEmpty() ? QString() : DeploySnippets::checkPackageUrl(packageUrl);
    if (!packageUrl.isEmpty() && problem.isEmpty())
        QSettings().setValue(QStringLiteral("deploy/packageUrl"), packageUrl);
    const QList<DeploySnippet> snippets = DeploySnippets::all(m_workerUrl, m_token->text(), packageUrl);
    for (qsizetype i = 0; i < snippets.size() && i < m_pages.size(); ++i) {
        const DeploySnippet &snippet = snippets.at(i);
        const SnippetPage &page = m_pages.at(i);
        page.text->setPlainText(snippet.text);
        const bool missing = snippet.needsPackage && (packageUrl.isEmpty() || !problem.isEmpty());
        page.copy->setEnabled(!missing);
        page.note->setText(!missing ? QString()
                           : packageUrl.isEmpty()
                               ? tr("This recipe installs swamp on a fresh machine: enter the package URL above first.")
                               : tr("Enter a valid package URL above: %1.").arg(problem));
        page.note->setVisible(missing);
    }
}

QString TokenCreatedDialog::token() const
{
    return m_token->text();
}

bool TokenCreatedDialog::canCopySnippet(int index) const
{
    return index >= 0 && index < m_pages.size() && m_pages.at(index).copy->isEnabled();
}

QStringList TokenCreatedDialog::snippets() const
{
    QStringList texts;
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto *text = m_tabs->widget(i)->findChild<QPlainTextEdit *>())
            texts << text->toPlainText();
    }
    return texts;
}

} // namespace Swamp::Console
