using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Conversations",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    CustomerAddress = table.Column<string>(type: "TEXT", nullable: false),
                    Generation = table.Column<int>(type: "INTEGER", nullable: false),
                    TicketExtId = table.Column<string>(type: "TEXT", nullable: false),
                    TicketJson = table.Column<string>(type: "TEXT", nullable: false),
                    LastNumberId = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastMessageAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LastInboundAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Conversations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Counters",
                columns: table => new
                {
                    Name = table.Column<string>(type: "TEXT", nullable: false),
                    Value = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Counters", x => x.Name);
                });

            migrationBuilder.CreateTable(
                name: "Installations",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    InstallationId = table.Column<string>(type: "TEXT", nullable: true),
                    DeskDomain = table.Column<string>(type: "TEXT", nullable: true),
                    ConnectionLinkName = table.Column<string>(type: "TEXT", nullable: true),
                    SecurityContextProtected = table.Column<string>(type: "TEXT", nullable: true),
                    Enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UpdatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Installations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Numbers",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    AccountSid = table.Column<string>(type: "TEXT", nullable: false),
                    Address = table.Column<string>(type: "TEXT", nullable: false),
                    Channel = table.Column<int>(type: "INTEGER", nullable: false),
                    MessagingServiceSid = table.Column<string>(type: "TEXT", nullable: true),
                    IsDefault = table.Column<bool>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Numbers", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "TwilioAccounts",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AccountSid = table.Column<string>(type: "TEXT", maxLength: 34, nullable: false),
                    AuthTokenProtected = table.Column<string>(type: "TEXT", nullable: false),
                    FriendlyName = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_TwilioAccounts", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "FeedThreads",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Position = table.Column<long>(type: "INTEGER", nullable: false),
                    OrgId = table.Column<string>(type: "TEXT", nullable: false),
                    ConversationId = table.Column<long>(type: "INTEGER", nullable: false),
                    MessageId = table.Column<long>(type: "INTEGER", nullable: false),
                    ExtId = table.Column<string>(type: "TEXT", nullable: false),
                    Part = table.Column<int>(type: "INTEGER", nullable: false),
                    MediaCount = table.Column<int>(type: "INTEGER", nullable: false),
                    ThreadJson = table.Column<string>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_FeedThreads", x => x.Id);
                    table.ForeignKey(
                        name: "FK_FeedThreads_Conversations_ConversationId",
                        column: x => x.ConversationId,
                        principalTable: "Conversations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Messages",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    MessageSid = table.Column<string>(type: "TEXT", nullable: false),
                    AccountSid = table.Column<string>(type: "TEXT", nullable: false),
                    OrgId = table.Column<string>(type: "TEXT", nullable: true),
                    From = table.Column<string>(type: "TEXT", nullable: false),
                    To = table.Column<string>(type: "TEXT", nullable: false),
                    Body = table.Column<string>(type: "TEXT", nullable: false),
                    MessagingServiceSid = table.Column<string>(type: "TEXT", nullable: true),
                    NumMedia = table.Column<int>(type: "INTEGER", nullable: false),
                    Direction = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<int>(type: "INTEGER", nullable: false),
                    ReceivedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    RawForm = table.Column<string>(type: "TEXT", nullable: false),
                    ConversationId = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Messages", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Messages_Conversations_ConversationId",
                        column: x => x.ConversationId,
                        principalTable: "Conversations",
                        principalColumn: "Id");
                });

            migrationBuilder.InsertData(
                table: "Counters",
                columns: new[] { "Name", "Value" },
                values: new object[] { "feed", 0L });

            migrationBuilder.CreateIndex(
                name: "IX_Conversations_OrgId_CustomerAddress_Generation",
                table: "Conversations",
                columns: new[] { "OrgId", "CustomerAddress", "Generation" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Conversations_OrgId_TicketExtId",
                table: "Conversations",
                columns: new[] { "OrgId", "TicketExtId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_FeedThreads_ConversationId",
                table: "FeedThreads",
                column: "ConversationId");

            migrationBuilder.CreateIndex(
                name: "IX_FeedThreads_MessageId",
                table: "FeedThreads",
                column: "MessageId");

            migrationBuilder.CreateIndex(
                name: "IX_FeedThreads_OrgId_Position",
                table: "FeedThreads",
                columns: new[] { "OrgId", "Position" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Installations_OrgId",
                table: "Installations",
                column: "OrgId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Messages_ConversationId",
                table: "Messages",
                column: "ConversationId");

            migrationBuilder.CreateIndex(
                name: "IX_Messages_MessageSid",
                table: "Messages",
                column: "MessageSid",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Messages_OrgId_ConversationId",
                table: "Messages",
                columns: new[] { "OrgId", "ConversationId" });

            migrationBuilder.CreateIndex(
                name: "IX_Messages_State_Id",
                table: "Messages",
                columns: new[] { "State", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Numbers_Address",
                table: "Numbers",
                column: "Address",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Numbers_MessagingServiceSid",
                table: "Numbers",
                column: "MessagingServiceSid");

            migrationBuilder.CreateIndex(
                name: "IX_Numbers_OrgId_Channel",
                table: "Numbers",
                columns: new[] { "OrgId", "Channel" });

            migrationBuilder.CreateIndex(
                name: "IX_TwilioAccounts_AccountSid",
                table: "TwilioAccounts",
                column: "AccountSid",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Counters");

            migrationBuilder.DropTable(
                name: "FeedThreads");

            migrationBuilder.DropTable(
                name: "Installations");

            migrationBuilder.DropTable(
                name: "Messages");

            migrationBuilder.DropTable(
                name: "Numbers");

            migrationBuilder.DropTable(
                name: "TwilioAccounts");

            migrationBuilder.DropTable(
                name: "Conversations");
        }
    }
}
