using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TwilioChannel.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class NumberListNotFound : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "ListNotFoundSince",
                table: "Numbers",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ListNotFoundSince",
                table: "Numbers");
        }
    }
}
